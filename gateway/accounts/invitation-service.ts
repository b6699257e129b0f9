/**
 * Invitations (as Blynk: only for an email with no account; single use; valid 30 days by default;
 * at most N per org per day) and client self-registration where the plan allows it (email
 * verification link valid 24 h, then a client org of their own under the maker's Clients org).
 * Link tokens are stored only as SHA-256 hashes.
 */
import { TetherError } from '../../shared/errors.js';
import { newId, newSecret, randomAlphanumeric, sha256Hex } from '../../shared/ids.js';
import { invitationMessage, verificationMessage } from '../mail/account-messages.js';
import type { StoreTables } from '../store/store.js';
import type { Invitation, LinkToken, Org, User, UserType } from '../store/types.js';
import { authorize, notFound, requirePermission } from './access.js';
import type { AccountDeps } from './account-deps.js';
import { type AuthenticatedActor, normalizeEmail, type PublicUser, publicUser } from './auth-service.js';
import type { MailRequests } from './mail-requests.js';
import { checkPasswordStrength } from './passwords.js';
import type { PlanLimits } from './plan-limits.js';
import { rolesOf, seedRoles } from './role-service.js';
import { attachPendingShares } from './share-service.js';

export type PublicInvitation = Omit<Invitation, 'tokenHash'>;

const toPublic = ({ tokenHash: _t, ...rest }: Invitation): PublicInvitation => rest;

/** Who someone invited into an org is, unless the inviter says: a partner org's people are partners, client orgs' clients, everyone else's developers. */
const defaultTypeIn = (org: Org): UserType =>
  org.kind === 'partner'
    ? 'partner'
    : org.kind === 'client' || org.kind === 'clients'
      ? 'client'
      : 'developer';
const DAY_MS = 86_400_000;

export class InvitationService {
  constructor(
    private readonly deps: AccountDeps,
    private readonly mailRequests: MailRequests,
  ) {}

  async invite(
    actor: AuthenticatedActor,
    input: { email: string; orgId?: string; roleId: string; type?: UserType; name?: string },
    ip: string | null,
  ): Promise<PublicInvitation> {
    const { store, clock, config, plans, roles, auditor, mailer, links } = this.deps;
    const orgId = input.orgId ?? actor.orgId;
    const org = await store.orgs.get(orgId);
    authorize(actor, 'users.invite', org ? { orgId } : undefined, 'Organization', orgId);
    const email = normalizeEmail(input.email);
    const type = input.type ?? defaultTypeIn(org!);
    await roles.assignable(actor, orgId, input.roleId, type);
    if (type === 'partner') {
      await plans.assertFeature(orgId, 'partnerOrgs');
      if (org!.kind !== 'partner') {
        throw new TetherError('VALIDATION_FAILED', 'Partner users belong to a partner organization.', {
          details: { field: 'type' },
        });
      }
    }
    const now = clock.now();
    const token = newSecret();
    const days = config.accounts.invitationTtlDays;
    // The checks and the writes commit together: two invitations racing for the org's last place
    // on its plan, its last invitation of the day or the same address cannot both pass.
    const { existing, invitation } = await store.transaction(async (tx) => {
      const existing = await tx.users.byEmail(email);
      // A pending user may be invited again (a resend); anyone else already has an account.
      if (existing && (existing.status !== 'pending' || !actor.visibleOrgIds.has(existing.orgId))) {
        throw new TetherError('CONFLICT', `${email} is already in use.`, { details: { field: 'email' } });
      }
      const today = await tx.invitations.count({ orgId, createdAt: { gt: now - DAY_MS } });
      if (today >= config.accounts.invitationsPerOrgPerDay) {
        throw new TetherError(
          'RATE_LIMITED',
          `This organization sent ${today} invitations in the last 24 hours, the most allowed. Try again tomorrow.`,
          { details: { limit: config.accounts.invitationsPerOrgPerDay, retryAfterSeconds: 3600 } },
        );
      }
      if (!existing) await plans.assertWithin(orgId, 'users', 1, tx);
      const user: User = existing
        ? await tx.users.update(existing.id, {
            orgId,
            roleId: input.roleId,
            type,
            ...(input.name ? { name: input.name } : {}),
          })
        : await tx.users.insert({
            id: newId('usr'),
            orgId,
            email,
            name: input.name ?? email.split('@')[0]!,
            type,
            roleId: input.roleId,
            status: 'pending',
            passwordHash: null,
            createdAt: now,
            sessionsValidAfter: 0,
          });
      for (const old of await tx.invitations.find({ userId: user.id, status: 'pending' })) {
        await tx.invitations.update(old.id, { status: 'revoked' });
      }
      const invitation: Invitation = {
        id: newId('inv'),
        orgId,
        email,
        name: user.name,
        userId: user.id,
        roleId: input.roleId,
        type,
        tokenHash: sha256Hex(token),
        invitedBy: actor.userId,
        createdAt: now,
        expiresAt: now + days * DAY_MS,
        status: 'pending',
      };
      await tx.invitations.insert(invitation);
      return { existing, invitation };
    });
    await auditor.record({
      actor: actor.userId,
      action: existing ? 'invitation.resent' : 'invitation.created',
      targetType: 'invitation',
      targetId: invitation.id,
      orgId,
      ip,
      details: { email, roleId: input.roleId, type, userId: invitation.userId },
    });
    try {
      await mailer.send(
        invitationMessage({
          to: email,
          link: links.url('invitation', token),
          token,
          gatewayOption: links.gatewayOption(),
          orgName: org!.name,
          invitedBy: actor.user.name || actor.user.email,
          days,
        }),
      );
    } catch (error) {
      // Nobody can accept an invitation that never arrived: undo it, so that a retry starts clean.
      await store.invitations.delete(invitation.id);
      if (!existing) await store.users.delete(invitation.userId);
      throw error;
    }
    return toPublic(invitation);
  }

  async list(actor: AuthenticatedActor, orgId?: string): Promise<PublicInvitation[]> {
    requirePermission(actor, 'users.invite');
    if (orgId !== undefined && !actor.visibleOrgIds.has(orgId)) throw notFound('Organization', orgId);
    const orgIds = orgId === undefined ? [...actor.visibleOrgIds] : [orgId];
    const out: PublicInvitation[] = [];
    for (const id of orgIds)
      for (const i of await this.deps.store.invitations.find({ orgId: id })) out.push(toPublic(i));
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Sends a pending (or expired) invitation again: a new link that works for the full term, the
   * old one dead. Counts against the org's daily invitations like a new one.
   */
  async resend(actor: AuthenticatedActor, id: string, ip: string | null): Promise<PublicInvitation> {
    const invitation = authorize(
      actor,
      'users.invite',
      await this.deps.store.invitations.get(id),
      'Invitation',
      id,
    );
    if (invitation.status !== 'pending') {
      throw new TetherError(
        'VALIDATION_FAILED',
        `This invitation was ${invitation.status}: invite them anew.`,
      );
    }
    return this.invite(
      actor,
      {
        email: invitation.email,
        orgId: invitation.orgId,
        roleId: invitation.roleId,
        type: invitation.type,
        name: invitation.name,
      },
      ip,
    );
  }

  /** Revokes a pending invitation; the pending user it made goes too. */
  async revoke(actor: AuthenticatedActor, id: string, ip: string | null): Promise<void> {
    const { store, auditor } = this.deps;
    // One transaction: an acceptance racing the revocation either comes first (and the revocation
    // finds the invitation accepted) or finds it revoked; never a revoked link with an active user.
    const invitation = await store.transaction(async (tx) => {
      const invitation = authorize(actor, 'users.invite', await tx.invitations.get(id), 'Invitation', id);
      if (invitation.status !== 'pending') {
        throw new TetherError('VALIDATION_FAILED', `This invitation is ${invitation.status} already.`);
      }
      await tx.invitations.update(invitation.id, { status: 'revoked' });
      const user = await tx.users.get(invitation.userId);
      if (user?.status === 'pending') await tx.users.delete(user.id);
      return invitation;
    });
    await auditor.record({
      actor: actor.userId,
      action: 'invitation.revoked',
      targetType: 'invitation',
      targetId: invitation.id,
      orgId: invitation.orgId,
      ip,
      details: { email: invitation.email },
    });
  }

  /** Accepting sets the password and activates the user. */
  async accept(
    input: { token: string; password: string; name?: string },
    ip: string | null,
  ): Promise<PublicUser> {
    const { store, clock, auth, auditor } = this.deps;
    checkPasswordStrength(input.password);
    const now = clock.now();
    const tokenHash = sha256Hex(input.token);
    // Checked before the password's hash is worked out, and again where the link is spent: of two
    // uses of one link at once (or a use racing its revocation) only one sets a password.
    await pendingInvitation(store, tokenHash, now);
    const passwordHash = await auth.passwords.hash(input.password);
    const { invitation, user, active } = await store.transaction(async (tx) => {
      const { invitation, user } = await pendingInvitation(tx, tokenHash, now);
      await tx.invitations.update(invitation.id, { status: 'accepted' });
      const active = await tx.users.update(user.id, {
        passwordHash,
        status: 'active',
        ...(input.name ? { name: input.name } : {}),
      });
      await attachPendingShares(tx, active);
      return { invitation, user, active };
    });
    await auditor.record({
      actor: user.id,
      action: 'invitation.accepted',
      targetType: 'invitation',
      targetId: invitation.id,
      orgId: invitation.orgId,
      ip,
      details: { userId: user.id },
    });
    return publicUser(active);
  }

  /**
   * Self-registration, step 1: mail a verification link. Answers the same whether or not the
   * email has an account, so it cannot be used to find out who has one. Limited per IP (429) and
   * per address (quietly: no more mail), never per maker.
   */
  async register(input: { orgId: string; email: string }, ip: string | null): Promise<void> {
    const { store, clock, config, plans, mailer, links, auditor } = this.deps;
    // A maker that has not switched sign-ups on answers as an org that does not exist.
    const root = await store.orgs.get(input.orgId);
    if (!root?.registration?.enabled) throw notFound('Organization', input.orgId);
    await plans.assertFeature(root.id, 'selfRegistration');
    const email = normalizeEmail(input.email);
    await this.mailRequests.admit(ip);
    await this.mailRequests.sweep();
    const now = clock.now();
    if (await store.users.byEmail(email)) return;
    const perDay = config.accounts.registrationMailsPerAddressPerDay;
    if (!(await this.mailRequests.mayMail(email, 'verify-email', perDay, DAY_MS))) return;
    const token = newSecret();
    const hours = config.accounts.verificationTtlHours;
    await store.linkTokens.insert({
      id: newId('lnk'),
      purpose: 'verify-email',
      email,
      userId: null,
      orgId: root.id,
      tokenHash: sha256Hex(token),
      createdAt: now,
      expiresAt: now + hours * 3_600_000,
      usedAt: null,
    });
    await auditor.record({
      actor: 'anonymous',
      action: 'registration.requested',
      targetType: 'org',
      targetId: root.id,
      orgId: root.id,
      ip,
      details: { email },
    });
    // Mailed after the answer, so its time does not tell whether the address has an account.
    mailer
      .send(
        verificationMessage({
          to: email,
          link: links.url('verify-email', token),
          token,
          gatewayOption: links.gatewayOption(),
          orgName: root.name,
          hours,
        }),
      )
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'verification mail failed'));
  }

  /**
   * Self-registration, step 2: the verified person joins the maker as the maker chose — by default
   * a client with the User role in the maker's Clients org, or in a client org of their own where
   * the maker says so. That org is named after nothing of theirs (never their address).
   */
  async verify(
    input: { token: string; password: string; name?: string },
    ip: string | null,
  ): Promise<PublicUser> {
    const { store, clock, plans, auth, auditor } = this.deps;
    checkPasswordStrength(input.password);
    const now = clock.now();
    const tokenHash = sha256Hex(input.token);
    // Checked before the password's hash is worked out, and again in the transaction that spends
    // the link: of two uses of one link at once, only one makes an account.
    const first = await verificationLink(store, tokenHash, now);
    await plans.assertFeature((await takingSignUps(store, first.orgId)).id, 'selfRegistration');
    const passwordHash = await auth.passwords.hash(input.password);
    const outcome = await store.transaction(async (tx) => {
      const record = await verificationLink(tx, tokenHash, now);
      if (await tx.users.byEmail(record.email)) {
        await tx.linkTokens.update(record.id, { usedAt: now });
        return { taken: record.email } as const;
      }
      const maker = await takingSignUps(tx, record.orgId);
      const settings = maker.registration!;
      await plans.assertWithin(maker.id, 'users', 1, tx);
      const clients = await clientsOrg(tx, plans, maker.id, now);
      let home = clients;
      if (settings.ownOrg) {
        await plans.assertWithin(maker.id, 'subOrgs', 1, tx);
        home = {
          id: newId('org'),
          name: `Client ${randomAlphanumeric(6)}`,
          parentId: clients.id,
          plan: null,
          createdAt: now,
          kind: 'client',
        };
        await tx.orgs.insert(home);
        await seedRoles(tx, home.id, clients.id, now);
      }
      // The maker's chosen role, where it still exists there; else the plain User role.
      const roleId = (await rolesOf(tx, home.id)).some((r) => r.key === settings.roleId)
        ? settings.roleId
        : 'user';
      await tx.linkTokens.update(record.id, { usedAt: now });
      const user = await tx.users.insert({
        id: newId('usr'),
        orgId: home.id,
        email: record.email,
        name: input.name ?? record.email.split('@')[0]!,
        type: settings.type,
        roleId,
        status: 'active',
        passwordHash,
        createdAt: now,
        sessionsValidAfter: 0,
      });
      await attachPendingShares(tx, user);
      return { user, home, maker, roleId, settings, email: record.email };
    });
    if ('taken' in outcome) {
      throw new TetherError(
        'CONFLICT',
        `${outcome.taken} is already in use. Log in, or reset your password.`,
      );
    }
    const { user, home, maker, roleId, settings, email } = outcome;
    await auditor.record({
      actor: user.id,
      action: 'registration.completed',
      targetType: 'user',
      targetId: user.id,
      orgId: home.id,
      ip,
      details: { email, makerOrgId: maker.id, roleId, type: settings.type },
    });
    return publicUser(user);
  }
}

/** The pending invitation behind a link and the pending user it made, or LINK_INVALID. */
async function pendingInvitation(
  tables: StoreTables,
  tokenHash: string,
  now: number,
): Promise<{ invitation: Invitation; user: User }> {
  const invitation = await tables.invitations.byTokenHash(tokenHash);
  const user = invitation ? await tables.users.get(invitation.userId) : undefined;
  if (invitation?.status !== 'pending' || invitation.expiresAt <= now || user?.status !== 'pending') {
    throw new TetherError(
      'LINK_INVALID',
      'This invitation link is not valid, was used already, or expired. Ask for a new invitation.',
    );
  }
  return { invitation, user };
}

/** A live email-verification link, or LINK_INVALID. */
async function verificationLink(tables: StoreTables, tokenHash: string, now: number): Promise<LinkToken> {
  const record = await tables.linkTokens.byTokenHash(tokenHash);
  if (record?.purpose !== 'verify-email' || record.usedAt !== null || record.expiresAt <= now) {
    throw new TetherError(
      'LINK_INVALID',
      'This verification link is not valid, was used already, or expired. Sign up again.',
    );
  }
  return record;
}

/** The maker behind a sign-up link, while it still takes sign-ups. */
async function takingSignUps(tables: StoreTables, orgId: string): Promise<Org> {
  const maker = await tables.orgs.get(orgId);
  if (!maker?.registration?.enabled) {
    throw new TetherError('LINK_INVALID', 'This organization no longer takes sign-ups.');
  }
  return maker;
}

/** The maker's container for self-registered clients, made on first use. */
async function clientsOrg(tables: StoreTables, plans: PlanLimits, rootId: string, now: number): Promise<Org> {
  const [existing] = await tables.orgs.find({ parentId: rootId, kind: 'clients' }, { limit: 1 });
  if (existing) return existing;
  await plans.assertWithin(rootId, 'subOrgs', 1, tables);
  const org: Org = {
    id: newId('org'),
    name: 'Clients',
    parentId: rootId,
    plan: null,
    createdAt: now,
    kind: 'clients',
  };
  await tables.orgs.insert(org);
  await seedRoles(tables, org.id, rootId, now);
  return org;
}
