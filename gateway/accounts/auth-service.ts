/**
 * People's sessions: first-run set-up, login, access tokens (JWT, EdDSA) and rotating refresh
 * tokens stored as hashes.
 */
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import type { FailureLimiter, FailureLimiterFactory, Lockout } from '../../shared/failure-limiter.js';
import { newId, newSecret, safeEqual, sha256Hex } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { Auditor } from '../audit.js';
import type { Store, StoreTables } from '../store/store.js';
import type { Org, RefreshToken, User } from '../store/types.js';
import { notFound } from './access.js';
import { subtreeOrgIds } from './org-tree.js';
import type { PasswordHasher } from './passwords.js';
import { effectivePermissions } from './permissions.js';
import type { Actor } from './policy.js';
import { permissionsFor, seedRoles } from './role-service.js';
import type { SessionRevocations } from './session-revocations.js';
import { SIGNING_ALG, type SigningKeySet } from './signing-keys.js';
import { VerifiedTokenCache } from './verified-tokens.js';

const ISSUER = 'tether';
const AUDIENCE = 'tether-api';
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,63}$/;

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  user: PublicUser;
}

export type PublicUser = Omit<User, 'passwordHash' | 'sessionsValidAfter'>;

export const publicUser = ({ passwordHash: _p, sessionsValidAfter: _s, ...rest }: User): PublicUser => rest;

export interface AuthenticatedActor extends Actor {
  user: User;
  /** The session the access token belongs to (absent on tokens issued before sessions had ids). */
  sessionId?: string;
}

/** One of a person's sessions, as they see it. */
export interface SessionView {
  id: string;
  startedAt: number;
  /** When its token was last rotated (the last refresh). */
  refreshedAt: number;
  expiresAt: number;
  /** Where it began. */
  ip: string | null;
  /** The session the request itself came in. */
  current: boolean;
}

/** The session a refresh token belongs to (a token from before sessions had ids is its own). */
const sessionOf = (token: RefreshToken): string => token.sessionId ?? token.id;

export type FirstRunResult =
  | { state: 'ready' }
  | { state: 'created'; user: PublicUser; org: Org }
  | { state: 'setup-required'; setupCode: string };

/**
 * The one form of an address: NFKC (full-width and other compatibility letters become the letters
 * they look like, so "ａdmin@…" is admin@…), trimmed, lower-cased. An address holding a control or
 * format character (NUL, a right-to-left mark, a zero-width joiner) or an inner space is refused:
 * it would look like one mailbox and address another.
 */
export function normalizeEmail(email: string): string {
  const value = email.normalize('NFKC').trim().toLowerCase();
  if (!EMAIL.test(value) || /[\p{C}\p{Z}]/u.test(value)) {
    throw new TetherError('VALIDATION_FAILED', `"${email.slice(0, 80)}" is not an email address.`, {
      details: { field: 'email' },
    });
  }
  return value;
}

/** An address as typed at login: normalised where it is one, so that it finds its account. */
function loginEmail(email: string): string {
  try {
    return normalizeEmail(email);
  } catch {
    return email.trim().toLowerCase();
  }
}

export class AuthService {
  readonly #limiter: FailureLimiter;
  /** Signatures already checked (claims only; every revocation check below still runs per request). */
  readonly #verified: VerifiedTokenCache<object>;
  readonly #audits = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: TetherConfig;
      keys: SigningKeySet;
      passwords: PasswordHasher;
      revocations: SessionRevocations;
      auditor: Auditor;
      logger: Logger;
      limiters: FailureLimiterFactory;
    },
  ) {
    const { auth } = deps.config;
    this.#limiter = deps.limiters('login', {
      maxFailures: auth.loginMaxFailures,
      blockMs: auth.loginBlockMinutes * 60_000,
      message: (minutes) => `Too many failed logins. Try again in ${minutes} minute(s).`,
      onLockout: (lockout) => {
        const audit = this.#auditLockout(lockout)
          .catch((error: unknown) => deps.logger.error({ err: error }, 'lockout audit failed'))
          .finally(() => this.#audits.delete(audit));
        this.#audits.add(audit);
      },
    });
    this.#verified = new VerifiedTokenCache(deps.clock);
  }

  /** Audits the lockouts still running (with what they refused so far), before the store closes. */
  async stop(): Promise<void> {
    await this.#limiter.close?.();
    await Promise.all(this.#audits);
  }

  /**
   * One audit event per lockout, when it ends, with the attempts it refused. Single failed
   * logins are not audited: whoever guesses would decide how fast the log grows.
   */
  async #auditLockout(lockout: Lockout): Promise<void> {
    const { store, auditor } = this.deps;
    const [kind, ...rest] = lockout.key.split(':');
    const value = rest.join(':');
    const user = kind === 'account' ? await store.users.byEmail(value) : undefined;
    // An address, or an account that does not exist, is the operator's (the root's) to see.
    const orgId = user?.orgId ?? (await store.orgs.find({ parentId: null }))[0]?.id ?? null;
    await auditor.record({
      actor: 'system',
      action: 'auth.lockout',
      targetType: user ? 'user' : 'session',
      targetId: user?.id ?? lockout.key.slice(0, 128),
      orgId,
      ip: kind === 'ip' ? value : null,
      details: {
        on: kind === 'ip' ? 'address' : 'account',
        failures: lockout.failures,
        blockedAttempts: lockout.blockedAttempts,
        from: lockout.startedAt,
        until: lockout.endsAt,
      },
    });
  }

  /**
   * An empty database gets its root organization and first user (developer, Admin) from
   * config.admin, or a one-time setup code. Never a default password. Nodes of a cluster that
   * start on one empty database at once make one root account between them: the first to commit
   * creates it, the others find it ('ready').
   */
  async ensureFirstRun(): Promise<FirstRunResult> {
    const { store, config } = this.deps;
    if ((await store.users.count()) > 0) return { state: 'ready' };
    const { email, password, organization } = config.admin;
    if (email && password) {
      const created = await this.#createRootAccount({ email, password, organization }, isEmpty);
      return created ? { state: 'created', ...created } : { state: 'ready' };
    }
    const setupCode = newSecret();
    await store.setMeta({ setupCodeHash: sha256Hex(setupCode) });
    return { state: 'setup-required', setupCode };
  }

  /**
   * Completes first-run set-up with the one-time code printed by the gateway. Two requests with
   * the code at once make one account: the code is checked again, and spent, in the transaction
   * that creates it.
   */
  async completeSetup(input: { setupCode: string; email: string; password: string; organization?: string }) {
    const setupCodeValid = async (tables: StoreTables) => {
      const meta = await tables.getMeta();
      return (
        (await isEmpty(tables)) &&
        !!meta.setupCodeHash &&
        safeEqual(meta.setupCodeHash, sha256Hex(input.setupCode))
      );
    };
    const invalid = () =>
      new TetherError('PERMISSION_DENIED', 'This setup code is not valid, or set-up is already complete.');
    // Checked before hashing the password too, so a wrong code costs no scrypt.
    if (!(await setupCodeValid(this.deps.store))) throw invalid();
    const created = await this.#createRootAccount(
      {
        email: input.email,
        password: input.password,
        organization: input.organization || this.deps.config.admin.organization,
      },
      async (tx) => {
        if (!(await setupCodeValid(tx))) return false;
        await tx.setMeta({ setupCodeHash: null });
        return true;
      },
    );
    if (!created) throw invalid();
    return created;
  }

  /** A root organization and its admin, whatever else the store holds (tests make several). */
  async createRootAccount(input: { email: string; password: string; organization: string }) {
    return (await this.#createRootAccount(input, async () => true))!;
  }

  /**
   * Creates a root organization, its roles, its admin and their audit events in one transaction,
   * if `proceed` (run inside it) agrees; `undefined` when it does not. The password is hashed
   * first, outside the transaction: scrypt is slow, and transactions run one at a time.
   */
  async #createRootAccount(
    input: { email: string; password: string; organization: string },
    proceed: (tx: StoreTables) => Promise<boolean>,
  ): Promise<{ user: PublicUser; org: Org } | undefined> {
    const { store, clock, passwords, auditor, config } = this.deps;
    const email = normalizeEmail(input.email);
    const passwordHash = await passwords.hash(input.password);
    return store.transaction(async (tx) => {
      if (!(await proceed(tx))) return undefined;
      const now = clock.now();
      const org: Org = {
        id: newId('org'),
        name: input.organization,
        parentId: null,
        plan: config.admin.plan,
        createdAt: now,
        kind: 'standard',
      };
      const user: User = {
        id: newId('usr'),
        orgId: org.id,
        email,
        name: email.split('@')[0]!,
        type: 'developer',
        roleId: 'admin',
        status: 'active',
        passwordHash,
        createdAt: now,
        sessionsValidAfter: 0,
      };
      await tx.orgs.insert(org);
      await seedRoles(tx, org.id, null, now);
      await tx.users.insert(user);
      const created = { actor: 'system', targetType: 'org', targetId: org.id, orgId: org.id } as const;
      await auditor.record({ ...created, action: 'org.created' }, tx);
      await auditor.record({ ...created, action: 'user.created', targetType: 'user', targetId: user.id }, tx);
      return { user: publicUser(user), org };
    });
  }

  async login(input: { email: string; password: string; ip: string }): Promise<SessionTokens> {
    const { store, passwords, auditor } = this.deps;
    // The same form as at sign-up, so a look-alike spelling shares the account's failure count.
    const email = loginEmail(input.email);
    const keys = [`ip:${input.ip}`, `account:${email}`];
    await this.#limiter.check(keys);
    const user = await store.users.byEmail(email);
    const ok = await passwords.verify(input.password, user?.passwordHash ?? null);
    if (!user || !ok || user.status !== 'active') {
      await this.#limiter.fail(keys);
      const suspended = user && ok && user.status !== 'active';
      throw new TetherError(
        'INVALID_CREDENTIALS',
        suspended ? 'This account is not active. Ask your administrator.' : 'Wrong email or password.',
      );
    }
    await this.#limiter.succeed(keys);
    await auditor.record({
      actor: user.id,
      action: 'auth.login',
      targetType: 'user',
      targetId: user.id,
      orgId: user.orgId,
      ip: input.ip,
    });
    return this.#issue(user, undefined, input.ip);
  }

  /**
   * Rotates: the presented refresh token is revoked and a new one of the same session issued. A
   * token presented again after it was rotated was stolen or replayed: the whole session ends,
   * its access tokens with it.
   */
  async refresh(refreshToken: string, ip: string | null = null): Promise<SessionTokens> {
    const { store, clock } = this.deps;
    const tokenHash = sha256Hex(refreshToken);
    const now = clock.now();
    // Checked and spent in one transaction: of two refreshes with one token at once, the second
    // finds it rotated, which is what a replayed token looks like.
    const spent = await store.transaction(async (tx) => {
      const record = await tx.refreshTokens.byTokenHash(tokenHash);
      if (!record) return undefined;
      if (record.revokedAt !== null) return record.revokedReason === 'rotated' ? { record } : undefined;
      if (record.expiresAt <= now) return undefined;
      const user = await tx.users.get(record.userId);
      if (user?.status !== 'active' || record.createdAt < user.sessionsValidAfter) return undefined;
      await tx.refreshTokens.update(record.id, { revokedAt: now, revokedReason: 'rotated' });
      return { record, user };
    });
    if (spent && !spent.user) {
      await this.#endSession(spent.record.userId, sessionOf(spent.record), 'auth.refresh-reused', ip);
    }
    if (!spent?.user) throw new TetherError('TOKEN_INVALID', 'This session has ended. Log in again.');
    const { record, user } = spent;
    return this.#issue(user, {
      id: sessionOf(record),
      startedAt: record.sessionStartedAt ?? record.createdAt,
      ip: record.ip ?? null,
    });
  }

  /** Ends the session of this refresh token, its current access token included, at once. */
  async logout(refreshToken: string, ip: string | null = null): Promise<void> {
    const record = await this.deps.store.refreshTokens.byTokenHash(sha256Hex(refreshToken));
    if (!record || record.revokedAt !== null) return;
    await this.#endSession(record.userId, sessionOf(record), 'auth.logout', ip);
  }

  /** The caller's live sessions (one live refresh token each), newest first. */
  async sessions(actor: AuthenticatedActor): Promise<SessionView[]> {
    const now = this.deps.clock.now();
    const out: SessionView[] = [];
    for (const token of await this.deps.store.refreshTokens.find({ userId: actor.userId, revokedAt: null })) {
      if (token.expiresAt <= now || token.createdAt < actor.user.sessionsValidAfter) continue;
      const id = sessionOf(token);
      out.push({
        id,
        startedAt: token.sessionStartedAt ?? token.createdAt,
        refreshedAt: token.createdAt,
        expiresAt: token.expiresAt,
        ip: token.ip ?? null,
        current: id === actor.sessionId,
      });
    }
    return out.sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Ends one of the caller's own sessions (another device, a lost laptop), at once. */
  async endOwnSession(actor: AuthenticatedActor, sessionId: string, ip: string | null): Promise<void> {
    const live = (await this.sessions(actor)).some((s) => s.id === sessionId);
    if (!live) throw notFound('Session', sessionId);
    await this.#endSession(actor.userId, sessionId, 'auth.session-ended', ip);
  }

  /** Revokes every token of the session and refuses its access tokens from now until they expire. */
  async #endSession(userId: string, sessionId: string, action: string, ip: string | null): Promise<void> {
    const { store, clock, auditor, config, revocations } = this.deps;
    const now = clock.now();
    revocations.revoke(sessionId, now + config.auth.accessTokenTtlSeconds * 1000);
    for (const token of await store.refreshTokens.find({ userId })) {
      if (sessionOf(token) !== sessionId) continue;
      if (token.revokedReason === 'ended') continue;
      await store.refreshTokens.update(token.id, {
        revokedAt: token.revokedAt ?? now,
        revokedReason: 'ended',
      });
    }
    const user = await store.users.get(userId);
    await auditor.record({
      actor: userId,
      action,
      targetType: 'session',
      targetId: sessionId,
      orgId: user?.orgId ?? null,
      ip,
    });
  }

  /**
   * After a restart: the sessions ended in the last access-token lifetime, whose access tokens
   * are still refused (revocations live in memory; the ends are in the store).
   */
  async restoreRevocations(): Promise<void> {
    const { store, clock, config, revocations } = this.deps;
    const ttl = config.auth.accessTokenTtlSeconds * 1000;
    const since = clock.now() - ttl;
    for (const token of await store.refreshTokens.find({
      revokedReason: 'ended',
      revokedAt: { gt: since },
    })) {
      revocations.revoke(sessionOf(token), (token.revokedAt ?? 0) + ttl);
    }
  }

  /** Verifies an access token and builds the actor the policy decides on. */
  async authenticate(accessToken: string): Promise<AuthenticatedActor> {
    const { keys, store, clock } = this.deps;
    let sub: string | undefined;
    let issuedAtMs = 0;
    let sessionId: string | undefined;
    try {
      // The token names its key; a key this gateway does not trust fails like a bad signature.
      const { kid } = decodeProtectedHeader(accessToken);
      const key = typeof kid === 'string' && kid.length <= 64 ? await keys.verificationKey(kid) : undefined;
      if (!key) throw new Error('unknown signing key');
      let payload = this.#verified.get(accessToken, key);
      if (!payload) {
        ({ payload } = await jwtVerify(accessToken, key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: [SIGNING_ALG],
          currentDate: new Date(clock.now()),
        }));
        this.#verified.set(accessToken, key, payload);
      }
      sub = payload.sub;
      issuedAtMs = typeof payload.iatms === 'number' ? payload.iatms : 0;
      sessionId = typeof payload.sid === 'string' ? payload.sid : undefined;
    } catch (error) {
      const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new TetherError(
        expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID',
        expired ? 'Your session expired. Refresh it or log in again.' : 'The access token is not valid.',
      );
    }
    // O(1): an ended session (logout, reuse) refuses its access tokens before they expire.
    if (sessionId !== undefined && this.deps.revocations.isRevoked(sessionId)) {
      throw new TetherError('TOKEN_INVALID', 'This session has ended. Log in again.');
    }
    const user = sub ? await store.users.get(sub) : undefined;
    if (user?.status !== 'active' || issuedAtMs < user.sessionsValidAfter) {
      throw new TetherError('TOKEN_INVALID', 'This session has ended. Log in again.');
    }
    // Read per request, not from the token: a role edit, a move or a revoked grant applies at once.
    const grants = new Map((await store.grants.forUser(user.id)).map((g) => [g.deviceId, g.level] as const));
    return {
      user,
      userId: user.id,
      orgId: user.orgId,
      // Type × role: the role's permissions, within what the person's type may ever hold.
      permissions: effectivePermissions(await permissionsFor(store, user.orgId, user.roleId), user.type),
      visibleOrgIds: await subtreeOrgIds(store, user.orgId),
      grants,
      ...(sessionId !== undefined ? { sessionId } : {}),
    };
  }

  /** A fresh session for a user whose identity was just proven another way (accept, reset). */
  async startSession(user: User): Promise<SessionTokens> {
    return this.#issue((await this.deps.store.users.get(user.id)) ?? user);
  }

  /** Ends every session of a user now: access tokens issued before now and all refresh tokens. */
  async endSessions(userId: string): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    if (!(await store.users.get(userId))) return;
    // +1: a token issued in this very millisecond, before the call, is refused too.
    await store.users.update(userId, { sessionsValidAfter: now + 1 });
    for (const token of await store.refreshTokens.find({ userId, revokedAt: null })) {
      await store.refreshTokens.update(token.id, { revokedAt: now, revokedReason: 'ended' });
    }
  }

  get keys(): SigningKeySet {
    return this.deps.keys;
  }

  get passwords(): PasswordHasher {
    return this.deps.passwords;
  }

  /** A new access token and refresh token: of a new session, or of `session` when it rotates. */
  async #issue(
    user: User,
    session?: { id: string; startedAt: number; ip: string | null },
    ip?: string | null,
  ): Promise<SessionTokens> {
    const { keys, store, clock, config } = this.deps;
    const now = clock.now();
    const sessionId = session?.id ?? newId('ses');
    const expiresIn = config.auth.accessTokenTtlSeconds;
    // iatms: millisecond issue time, so a force logout at t refuses every token issued before t.
    // A session started right after endSessions() in the same millisecond must still count as newer.
    const issuedAt = Math.max(now, user.sessionsValidAfter);
    const signing = keys.current();
    const accessToken = await new SignJWT({
      org: user.orgId,
      role: user.roleId,
      iatms: issuedAt,
      sid: sessionId,
    })
      .setProtectedHeader({ alg: SIGNING_ALG, kid: signing.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(user.id)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + expiresIn)
      .setJti(newId('jti'))
      .sign(signing.privateKey);
    const refreshToken = newSecret();
    await store.refreshTokens.insert({
      id: newId('rft'),
      userId: user.id,
      tokenHash: sha256Hex(refreshToken),
      createdAt: issuedAt,
      expiresAt: now + config.auth.refreshTokenTtlDays * 86_400_000,
      revokedAt: null,
      sessionId,
      sessionStartedAt: session?.startedAt ?? issuedAt,
      ip: session ? session.ip : (ip ?? null),
    });
    return { accessToken, refreshToken, expiresIn, user: publicUser(user) };
  }
}

/** No user yet: first-run set-up may create the root account. */
const isEmpty = async (tables: StoreTables): Promise<boolean> => (await tables.users.count()) === 0;
