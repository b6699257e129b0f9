/**
 * Device sharing (beyond Blynk): the owner of a device, or someone who may transfer it, grants a
 * person of any org view or control of that one device by email address, and revokes it. Grants
 * reach the policy through the actor (AuthService.authenticate loads them on every request), so
 * canViewDevice/canControlDevice honour them everywhere and a revoke applies at once.
 *
 * Sharing never tells whether an address has an account (that would let any device owner probe
 * every tenant for addresses): the answer and the list look the same either way. A grant to an
 * address with no account does nothing until an account with that address is activated.
 */
import { TetherError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { StoreTables } from '../store/store.js';
import type { Device, DeviceGrant, GrantLevel, User } from '../store/types.js';
import { notFound } from './access.js';
import type { AccountDeps } from './account-deps.js';
import { type AuthenticatedActor, normalizeEmail } from './auth-service.js';
import { canShareDevice, canViewDevice } from './policy.js';

/** Shares per device: enough for a household or a team, and a bound on what one owner can store. */
export const MAX_SHARES_PER_DEVICE = 100;

/** A share as the sharer sees it: the address they named, never the grantee's user id. */
export interface PublicGrant {
  id: string;
  deviceId: string;
  email: string;
  level: GrantLevel;
  grantedBy: string;
  createdAt: number;
}

/** A user now active gets the shares made to their address before they had an account. */
export async function attachPendingShares(store: StoreTables, user: User): Promise<void> {
  for (const grant of await store.grants.find({ email: user.email, userId: null })) {
    await store.grants.update(grant.id, { userId: user.id });
  }
}

export class ShareService {
  constructor(private readonly deps: AccountDeps) {}

  async grant(
    actor: AuthenticatedActor,
    deviceId: string,
    input: { email: string; level: GrantLevel },
    ip: string | null,
  ): Promise<PublicGrant> {
    const { store, clock, auditor, events } = this.deps;
    const device = await this.#shareable(actor, deviceId);
    const email = normalizeEmail(input.email);
    const account = await store.users.byEmail(email);
    // An invited person who has not accepted yet is bound when they accept (attachPendingShares).
    const grantee = account && account.status !== 'pending' ? account : undefined;
    if (grantee && grantee.id === device.ownerId) {
      throw new TetherError('VALIDATION_FAILED', 'The owner already has this device.');
    }
    const grants = await store.grants.forDevice(device.id);
    const existing = grants.find((g) => (grantee && g.userId === grantee.id) || g.email === email);
    if (!existing && grants.length >= MAX_SHARES_PER_DEVICE) {
      throw new TetherError(
        'PLAN_LIMIT',
        `A device can be shared with at most ${MAX_SHARES_PER_DEVICE} people; revoke a share first.`,
        { details: { limit: 'shares', max: MAX_SHARES_PER_DEVICE } },
      );
    }
    const grant = existing
      ? await store.grants.update(existing.id, { level: input.level, grantedBy: actor.userId, email })
      : await store.grants.insert({
          id: newId('grt'),
          deviceId: device.id,
          userId: grantee?.id ?? null,
          email,
          level: input.level,
          grantedBy: actor.userId,
          createdAt: clock.now(),
        });
    if (grant.userId) events.emit('access.changed', { userId: grant.userId });
    await auditor.record({
      actor: actor.userId,
      action: 'device.shared',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip,
      details: { email, level: input.level, previous: existing?.level ?? null },
    });
    return this.#public(grant);
  }

  async list(actor: AuthenticatedActor, deviceId: string): Promise<PublicGrant[]> {
    const device = await this.#shareable(actor, deviceId);
    const out: PublicGrant[] = [];
    for (const grant of await this.deps.store.grants.forDevice(device.id))
      out.push(await this.#public(grant));
    return out.sort((a, b) => a.email.localeCompare(b.email));
  }

  /**
   * The sharer side revokes a share by its id (or by the grantee's user id); a grantee may also
   * drop a device shared with them, by their own user id.
   */
  async revoke(
    actor: AuthenticatedActor,
    deviceId: string,
    shareOrUserId: string,
    ip: string | null,
  ): Promise<void> {
    const { store, auditor, events } = this.deps;
    const device = await store.devices.get(deviceId);
    const self = shareOrUserId === actor.userId && actor.grants?.has(deviceId) === true;
    if (!device || (!self && !canShareDevice(actor, device))) throw notFound('Device', deviceId);
    const grant = (await store.grants.forDevice(device.id)).find(
      (g) => g.id === shareOrUserId || g.userId === shareOrUserId,
    );
    if (!grant) throw notFound('Share of device', `${deviceId}: ${shareOrUserId}`);
    await store.grants.delete(grant.id);
    // Open push streams of the grantee drop the device now, not at their next heartbeat.
    if (grant.userId) events.emit('access.changed', { userId: grant.userId });
    await auditor.record({
      actor: actor.userId,
      action: 'device.unshared',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip,
      details: { email: (await this.#public(grant)).email, level: grant.level },
    });
  }

  /** Devices shared with the actor, beside their own (device fields as the device routes show them). */
  async sharedWithMe(
    actor: AuthenticatedActor,
  ): Promise<Array<{ device: Omit<Device, 'tokenHash'>; level: GrantLevel }>> {
    const out: Array<{ device: Omit<Device, 'tokenHash'>; level: GrantLevel }> = [];
    for (const [deviceId, level] of actor.grants ?? []) {
      const device = await this.deps.store.devices.get(deviceId);
      if (!device || !canViewDevice(actor, device)) continue;
      const { tokenHash: _t, claimCodeHash: _c, ...visible } = device;
      out.push({ device: visible, level });
    }
    return out;
  }

  async #public(grant: DeviceGrant): Promise<PublicGrant> {
    const email =
      grant.email ??
      (grant.userId ? (await this.deps.store.users.get(grant.userId))?.email : undefined) ??
      '';
    return {
      id: grant.id,
      deviceId: grant.deviceId,
      email,
      level: grant.level,
      grantedBy: grant.grantedBy,
      createdAt: grant.createdAt,
    };
  }

  async #shareable(actor: AuthenticatedActor, deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device || !canViewDevice(actor, device)) throw notFound('Device', deviceId);
    if (!canShareDevice(actor, device)) {
      throw new TetherError('PERMISSION_DENIED', 'Only the owner of this device, or an admin, may share it.');
    }
    return device;
  }
}
