/**
 * Device sharing (beyond Blynk): the owner of a device, or someone who may transfer it, grants an
 * existing user of any org view or control of that one device, and revokes it. Grants reach the
 * policy through the actor (AuthService.authenticate loads them on every request), so
 * canViewDevice/canControlDevice honour them everywhere and a revoke applies at once.
 */
import { TetherError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Device, DeviceGrant, GrantLevel } from '../store/types.js';
import { notFound } from './access.js';
import type { AccountDeps } from './account-deps.js';
import { type AuthenticatedActor, normalizeEmail } from './auth-service.js';
import { canShareDevice, canViewDevice } from './policy.js';

export interface PublicGrant extends DeviceGrant {
  email: string;
}

export class ShareService {
  constructor(private readonly deps: AccountDeps) {}

  async grant(
    actor: AuthenticatedActor,
    deviceId: string,
    input: { email: string; level: GrantLevel },
    ip: string | null,
  ): Promise<PublicGrant> {
    const { store, clock, auditor } = this.deps;
    const device = await this.#shareable(actor, deviceId);
    const email = normalizeEmail(input.email);
    const grantee = await store.users.byEmail(email);
    if (grantee?.status !== 'active') {
      throw new TetherError('NOT_FOUND', `No active account uses ${email}. Invite them first.`, {
        details: { field: 'email' },
      });
    }
    if (grantee.id === device.ownerId) {
      throw new TetherError('VALIDATION_FAILED', 'The owner already has this device.');
    }
    const existing = (await store.grants.forDevice(device.id)).find((g) => g.userId === grantee.id);
    const grant = existing
      ? await store.grants.update(existing.id, { level: input.level, grantedBy: actor.userId })
      : await store.grants.insert({
          id: newId('grt'),
          deviceId: device.id,
          userId: grantee.id,
          level: input.level,
          grantedBy: actor.userId,
          createdAt: clock.now(),
        });
    await auditor.record({
      actor: actor.userId,
      action: 'device.shared',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip,
      details: { userId: grantee.id, level: input.level, previous: existing?.level ?? null },
    });
    return { ...grant, email: grantee.email };
  }

  async list(actor: AuthenticatedActor, deviceId: string): Promise<PublicGrant[]> {
    const device = await this.#shareable(actor, deviceId);
    const out: PublicGrant[] = [];
    for (const grant of await this.deps.store.grants.forDevice(device.id)) {
      const user = await this.deps.store.users.get(grant.userId);
      out.push({ ...grant, email: user?.email ?? '' });
    }
    return out;
  }

  /** The sharer side revokes; a grantee may also drop a device shared with them. */
  async revoke(
    actor: AuthenticatedActor,
    deviceId: string,
    userId: string,
    ip: string | null,
  ): Promise<void> {
    const { store, auditor } = this.deps;
    const device = await store.devices.get(deviceId);
    const self = userId === actor.userId && actor.grants?.has(deviceId) === true;
    if (!device || (!self && !canShareDevice(actor, device))) throw notFound('Device', deviceId);
    const grant = (await store.grants.forDevice(device.id)).find((g) => g.userId === userId);
    if (!grant) throw notFound('Share of device', `${deviceId} with ${userId}`);
    await store.grants.delete(grant.id);
    // Open push streams of the grantee drop the device now, not at their next heartbeat.
    this.deps.events.emit('access.changed', { userId });
    await auditor.record({
      actor: actor.userId,
      action: 'device.unshared',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip,
      details: { userId, level: grant.level },
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

  async #shareable(actor: AuthenticatedActor, deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device || !canViewDevice(actor, device)) throw notFound('Device', deviceId);
    if (!canShareDevice(actor, device)) {
      throw new TetherError('PERMISSION_DENIED', 'Only the owner of this device, or an admin, may share it.');
    }
    return device;
  }
}
