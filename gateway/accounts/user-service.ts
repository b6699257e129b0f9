/**
 * People in the org tree: list, read, edit (name, role, status), move, delete, admin password
 * reset, force logout; and a person's own account: change password, forgot/reset password, delete
 * self. Every change is an audit event; every session-ending change revokes refresh tokens now.
 */
import { TetherError } from '../../shared/errors.js';
import { newId, newSecret, sha256Hex } from '../../shared/ids.js';
import { passwordSetMessage, resetMessage } from '../mail/account-messages.js';
import { pages } from '../store/paging.js';
import type { StoreTables } from '../store/store.js';
import type { Device, LinkToken, User, UserStatus, UserType } from '../store/types.js';
import { authorize, notFound, requirePermission } from './access.js';
import type { AccountDeps } from './account-deps.js';
import {
  type AuthenticatedActor,
  normalizeEmail,
  type PublicUser,
  publicUser,
  type SessionTokens,
} from './auth-service.js';
import type { MailRequests } from './mail-requests.js';
import { checkPasswordStrength } from './passwords.js';
import { effectivePermissions } from './permissions.js';
import { permissionsFor } from './role-service.js';

/** What happens to the devices a user owns when they move to another org. */
export type DevicesOnMove = 'move' | 'leave';

/** Forgot-password mails per address per hour: enough for a person, useless for mail bombing. */
const RESETS_PER_HOUR = 3;

export class UserService {
  constructor(
    private readonly deps: AccountDeps,
    private readonly mailRequests: MailRequests,
  ) {}

  async list(actor: AuthenticatedActor, orgId?: string): Promise<PublicUser[]> {
    requirePermission(actor, 'users.view');
    if (orgId !== undefined && !actor.visibleOrgIds.has(orgId)) throw notFound('Organization', orgId);
    const orgIds = orgId === undefined ? [...actor.visibleOrgIds] : [orgId];
    const out: PublicUser[] = [];
    for (const id of orgIds)
      for (const user of await this.deps.store.users.find({ orgId: id })) out.push(publicUser(user));
    return out.sort((a, b) => a.email.localeCompare(b.email));
  }

  async get(actor: AuthenticatedActor, id: string): Promise<PublicUser> {
    return publicUser(await this.#visible(actor, 'users.view', id));
  }

  async update(
    actor: AuthenticatedActor,
    id: string,
    input: { name?: string; roleId?: string; status?: Exclude<UserStatus, 'pending'>; type?: UserType },
    ip: string | null,
  ): Promise<PublicUser> {
    const { store, roles, plans, auth } = this.deps;
    const user = await this.#visible(actor, 'users.edit', id);
    if (user.id === actor.userId && (input.roleId !== undefined || input.status !== undefined)) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'You cannot change your own role or status; ask another admin.',
      );
    }
    await this.#notAbove(actor, user);
    if (input.roleId !== undefined || input.type !== undefined) {
      // A new role or type may not raise them above the caller either.
      await roles.assignable(actor, user.orgId, input.roleId ?? user.roleId, input.type ?? user.type);
    }
    if (input.status !== undefined && user.status === 'pending') {
      throw new TetherError('VALIDATION_FAILED', 'This user has not accepted the invitation yet.');
    }
    if (input.type === 'partner') await plans.assertFeature(user.orgId, 'partnerOrgs');
    const patch: Partial<User> = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.roleId !== undefined ? { roleId: input.roleId } : {}),
      ...(input.status !== undefined ? { status: input.status } : {}),
      ...(input.type !== undefined ? { type: input.type } : {}),
    };
    const updated = await store.users.update(user.id, patch);
    if (input.status === 'suspended') await auth.endSessions(user.id);
    await this.#audit(actor, 'user.updated', updated, ip, { ...patch });
    return publicUser(updated);
  }

  /**
   * Moves a user to another org in the caller's subtree, with a role there. The devices they own
   * either move with them (still theirs, in the new org) or stay where they are without an owner:
   * the caller says which whenever there are any, since a person left owning devices in an org
   * they no longer see could not reach them.
   */
  async move(
    actor: AuthenticatedActor,
    id: string,
    input: { orgId: string; roleId: string; devices?: DevicesOnMove },
    ip: string | null,
  ): Promise<PublicUser & { devices: { moved: number; unowned: number } }> {
    const { store, roles, plans, events } = this.deps;
    const user = await this.#visible(actor, 'users.edit', id);
    if (user.id === actor.userId) throw new TetherError('VALIDATION_FAILED', 'You cannot move yourself.');
    await this.#notAbove(actor, user);
    const org = await store.orgs.get(input.orgId);
    authorize(actor, 'users.edit', org ? { orgId: org.id } : undefined, 'Organization', input.orgId);
    await roles.assignable(actor, input.orgId, input.roleId, user.type);
    // Counted here, then changed a page at a time: a person may own thousands of devices.
    const owned = input.orgId === user.orgId ? 0 : await store.devices.count({ ownerId: user.id });
    if (owned > 0 && input.devices === undefined) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `${user.email} owns ${owned} device(s): say whether they move with them (devices=move) or stay in their organization without an owner (devices=leave).`,
        { details: { field: 'devices', devices: owned } },
      );
    }
    if (input.devices === 'move' && owned > 0) requirePermission(actor, 'devices.transfer');
    // The plan check and every change commit together: a move racing another claim on the target
    // scope's last places cannot take them both, and a crash never leaves half the devices moved.
    const { moved, changed } = await store.transaction(async (tx) => {
      if (input.devices === 'move' && owned > 0) {
        // Counted again here: a device claimed since the count above moves too.
        const owning = await tx.devices.count({ ownerId: user.id });
        await plans.assertWithin(input.orgId, 'devices', owning, tx, user.orgId);
      }
      const moved = await tx.users.update(user.id, { orgId: input.orgId, roleId: input.roleId });
      for (const invitation of await tx.invitations.find({ userId: user.id, status: 'pending' })) {
        await tx.invitations.update(invitation.id, { orgId: input.orgId, roleId: input.roleId });
      }
      const changed: Device[] = [];
      if (owned > 0) {
        for await (const page of pages(tx.devices, { ownerId: user.id })) {
          for (const device of page) {
            changed.push(
              await tx.devices.update(
                device.id,
                input.devices === 'move' ? { orgId: input.orgId } : { ownerId: null },
              ),
            );
          }
        }
      }
      return { moved, changed };
    });
    // The audit event names every device that changed hands: their ids, not their rows.
    const ids = changed.map((device) => device.id);
    for (const device of changed) events.emit('device.changed', { device });
    const devices = {
      moved: input.devices === 'move' ? ids.length : 0,
      unowned: input.devices === 'leave' ? ids.length : 0,
    };
    await this.#audit(actor, 'user.moved', moved, ip, {
      from: { orgId: user.orgId, roleId: user.roleId },
      to: { orgId: input.orgId, roleId: input.roleId },
      devices: { ...devices, ids },
    });
    return { ...publicUser(moved), devices };
  }

  /**
   * Admin deletion. The user's devices stay in their org without an owner; the org stays even
   * when this was its last member (an org is deleted only on its own, explicitly).
   */
  async remove(
    actor: AuthenticatedActor,
    id: string,
    ip: string | null,
  ): Promise<{ unownedDevices: number; orgNowEmpty: boolean }> {
    const user = await this.#visible(actor, 'users.delete', id);
    if (user.id === actor.userId) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'To delete your own account use DELETE /api/me with your password.',
      );
    }
    await this.#notAbove(actor, user);
    return this.#delete(user, actor.userId, ip);
  }

  async removeSelf(actor: AuthenticatedActor, password: string, ip: string | null) {
    const user = await this.#checkPassword(actor.userId, password);
    if (user.roleId === 'admin') {
      const admins = await this.deps.store.users.find({
        orgId: user.orgId,
        roleId: 'admin',
        status: 'active',
      });
      if (admins.length <= 1 && (await this.deps.store.users.count({ orgId: user.orgId })) > 1) {
        throw new TetherError(
          'VALIDATION_FAILED',
          'You are the last admin of an organization with other members: make someone else Admin first.',
        );
      }
    }
    return this.#delete(user, user.id, ip);
  }

  async changePassword(
    actor: AuthenticatedActor,
    input: { currentPassword: string; newPassword: string },
    ip: string | null,
  ): Promise<SessionTokens> {
    const { store, auth } = this.deps;
    const user = await this.#checkPassword(actor.userId, input.currentPassword);
    const passwordHash = await auth.passwords.hash(input.newPassword);
    await store.users.update(user.id, { passwordHash });
    // Ends every other session; the caller carries on with the new pair returned here.
    await auth.endSessions(user.id);
    await this.#audit(actor, 'user.password-changed', user, ip, {});
    return auth.startSession(user);
  }

  /** Sets a password directly, or (without one) mails a reset link; either way sessions end. */
  async adminResetPassword(
    actor: AuthenticatedActor,
    id: string,
    password: string | undefined,
    ip: string | null,
  ): Promise<{ mailed: boolean }> {
    const { store, auth } = this.deps;
    const user = await this.#visible(actor, 'users.reset-password', id);
    await this.#notAbove(actor, user);
    if (user.status === 'pending')
      throw new TetherError('VALIDATION_FAILED', 'This user has not accepted the invitation yet.');
    if (password !== undefined) {
      await store.users.update(user.id, { passwordHash: await auth.passwords.hash(password) });
      // They learn that it happened (never the password), so a change they did not expect shows.
      const org = await store.orgs.get(user.orgId);
      this.#background(
        this.deps.mailer.send(
          passwordSetMessage({
            to: user.email,
            setBy: actor.user.name || actor.user.email,
            orgName: org?.name ?? 'your organization',
            gatewayOption: this.deps.links.gatewayOption(),
          }),
        ),
        'password-set mail failed',
      );
    } else {
      await this.#mailReset(user, true);
    }
    await auth.endSessions(user.id);
    await this.#audit(actor, 'user.password-reset', user, ip, { mailed: password === undefined });
    return { mailed: password === undefined };
  }

  async forceLogout(actor: AuthenticatedActor, id: string, ip: string | null): Promise<void> {
    const user = await this.#visible(actor, 'users.force-logout', id);
    await this.#notAbove(actor, user);
    await this.deps.auth.endSessions(user.id);
    await this.#audit(actor, 'user.force-logout', user, ip, {});
  }

  /** Always answers the same, whether or not the address has an account (no enumeration). */
  async forgotPassword(email: string, ip: string | null): Promise<void> {
    const { store, auditor } = this.deps;
    await this.mailRequests.admit(ip);
    await this.mailRequests.sweep();
    let normalized: string;
    try {
      normalized = normalizeEmail(email);
    } catch {
      return;
    }
    const user = await store.users.byEmail(normalized);
    if (user?.status !== 'active') return;
    if (!(await this.mailRequests.mayMail(normalized, 'reset-password', RESETS_PER_HOUR, 3_600_000))) return;
    await auditor.record({
      actor: user.id,
      action: 'user.password-reset-requested',
      targetType: 'user',
      targetId: user.id,
      orgId: user.orgId,
      ip,
    });
    // Mailing happens after the answer, so its time does not tell who has an account.
    this.#background(this.#mailReset(user, false), 'reset mail failed');
  }

  #background(work: Promise<void>, what: string): void {
    work.catch((error: unknown) => this.deps.logger.error({ err: error }, what));
  }

  async resetPassword(input: { token: string; password: string }, ip: string | null): Promise<void> {
    const { store, clock, auth, auditor } = this.deps;
    checkPasswordStrength(input.password);
    const tokenHash = sha256Hex(input.token);
    const now = clock.now();
    // Checked before the password's hash is worked out, and again where the link is spent: of two
    // uses of one link at once, only one sets a password.
    await resetLink(store, tokenHash, now);
    const passwordHash = await auth.passwords.hash(input.password);
    const user = await store.transaction(async (tx) => {
      const { record, user } = await resetLink(tx, tokenHash, now);
      await tx.linkTokens.update(record.id, { usedAt: now });
      return tx.users.update(user.id, { passwordHash });
    });
    await auth.endSessions(user.id);
    await auditor.record({
      actor: user.id,
      action: 'user.password-reset-completed',
      targetType: 'user',
      targetId: user.id,
      orgId: user.orgId,
      ip,
    });
  }

  async #mailReset(user: User, byAdmin: boolean): Promise<void> {
    const { store, clock, config, mailer, links } = this.deps;
    const token = newSecret();
    const now = clock.now();
    const minutes = config.accounts.passwordResetTtlMinutes;
    // A new link replaces the older ones still unused.
    for (const old of await store.linkTokens.find({
      userId: user.id,
      purpose: 'reset-password',
      usedAt: null,
    })) {
      await store.linkTokens.update(old.id, { usedAt: now });
    }
    await store.linkTokens.insert({
      id: newId('lnk'),
      purpose: 'reset-password',
      email: user.email,
      userId: user.id,
      orgId: user.orgId,
      tokenHash: sha256Hex(token),
      createdAt: now,
      expiresAt: now + minutes * 60_000,
      usedAt: null,
    });
    await mailer.send(
      resetMessage({
        to: user.email,
        link: links.url('reset-password', token),
        token,
        gatewayOption: links.gatewayOption(),
        minutes,
        byAdmin,
      }),
    );
  }

  async #delete(user: User, actorId: string, ip: string | null) {
    const { store, auth, auditor } = this.deps;
    let unownedDevices = 0;
    // A page at a time: a person may own thousands of devices.
    for await (const page of pages(store.devices, { ownerId: user.id })) {
      for (const device of page) {
        await store.devices.update(device.id, { ownerId: null });
        unownedDevices++;
      }
    }
    await auth.endSessions(user.id);
    for (const token of await store.refreshTokens.find({ userId: user.id }))
      await store.refreshTokens.delete(token.id);
    for (const grant of await store.grants.forUser(user.id)) await store.grants.delete(grant.id);
    for (const invitation of await store.invitations.find({ userId: user.id }))
      await store.invitations.delete(invitation.id);
    for (const link of await store.linkTokens.find({ userId: user.id }))
      await store.linkTokens.delete(link.id);
    await store.users.delete(user.id);
    const orgNowEmpty = (await store.users.count({ orgId: user.orgId })) === 0;
    await auditor.record({
      actor: actorId,
      action: 'user.deleted',
      targetType: 'user',
      targetId: user.id,
      orgId: user.orgId,
      ip,
      details: { email: user.email, unownedDevices, self: actorId === user.id },
    });
    return { unownedDevices, orgNowEmpty };
  }

  async #checkPassword(userId: string, password: string): Promise<User> {
    const user = await this.deps.store.users.get(userId);
    if (!user || !(await this.deps.auth.passwords.verify(password, user.passwordHash))) {
      throw new TetherError('INVALID_CREDENTIALS', 'The current password is wrong.');
    }
    return user;
  }

  async #visible(
    actor: AuthenticatedActor,
    permission: Parameters<typeof authorize>[1],
    id: string,
  ): Promise<User> {
    const user = await this.deps.store.users.get(id);
    authorize(actor, permission, user, 'User', id);
    return user!;
  }

  /** Nobody manages a user whose role holds permissions they lack (a Staff cannot reset an Admin). */
  async #notAbove(actor: AuthenticatedActor, user: User): Promise<void> {
    if (user.id === actor.userId) return;
    const theirs = effectivePermissions(
      await permissionsFor(this.deps.store, user.orgId, user.roleId),
      user.type,
    );
    for (const p of theirs) {
      if (!actor.permissions.has(p)) {
        throw new TetherError(
          'PERMISSION_DENIED',
          'This user holds permissions you do not; ask someone who holds them.',
        );
      }
    }
  }

  async #audit(
    actor: AuthenticatedActor,
    action: string,
    user: User,
    ip: string | null,
    details: Record<string, unknown>,
  ) {
    await this.deps.auditor.record({
      actor: actor.userId,
      action,
      targetType: 'user',
      targetId: user.id,
      orgId: user.orgId,
      ip,
      details,
    });
  }
}

/** A live password-reset link and its user, or LINK_INVALID. */
async function resetLink(
  tables: StoreTables,
  tokenHash: string,
  now: number,
): Promise<{ record: LinkToken; user: User }> {
  const record = await tables.linkTokens.byTokenHash(tokenHash);
  const user = record ? await tables.users.get(record.userId ?? '') : undefined;
  if (record?.purpose !== 'reset-password' || record.usedAt !== null || record.expiresAt <= now || !user) {
    throw new TetherError(
      'LINK_INVALID',
      'This reset link is not valid, was used already, or expired. Ask for a new one.',
    );
  }
  return { record, user };
}
