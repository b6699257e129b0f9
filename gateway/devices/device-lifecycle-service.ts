/**
 * What people do to a device after it exists: rename, write a datastream, reconfigure, reboot,
 * transfer, re-provision and delete. Each checks the accounts policy (never its own rules),
 * reaches the device through the broker when it is online, and leaves an audit event.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { newDeviceToken, sha256Hex } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { redirectUrl } from '../../shared/redirect-url.js';
import { downlink } from '../../shared/topics.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import { can, canControlDevice, canManageDevice } from '../accounts/policy.js';
import type { Auditor } from '../audit.js';
import type { EventBus } from '../events.js';
import type { Store } from '../store/store.js';
import type { DatastreamValue, Device } from '../store/types.js';
import { formatDatastreamValue, parseDatastreamValue } from './datastream-values.js';
import type { DeviceConnections } from './device-connections.js';
import { type DeviceRemoval, deleteDeviceRows } from './device-removal.js';
import type { DeviceService } from './device-service.js';

/** Where a request came from, for the audit trail. */
export interface RequestContext {
  ip: string | null;
}

/** How long an HTTP ping waits for the device's PUBACK. */
const PING_TIMEOUT_MS = 5_000;
/** How long a re-provision waits for the device to acknowledge downlink/reconfigure. */
const RECONFIGURE_ACK_TIMEOUT_MS = 2_000;
export class DeviceLifecycleService {
  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      events: EventBus;
      auditor: Auditor;
      devices: DeviceService;
      connections: DeviceConnections;
      removal: DeviceRemoval;
      logger: Logger;
    },
  ) {}

  async rename(
    actor: AuthenticatedActor,
    deviceId: string,
    name: string,
    ctx: RequestContext,
  ): Promise<Device> {
    const device = await this.#controllable(actor, deviceId);
    const updated = await this.deps.store.devices.update(device.id, { name });
    await this.#audit(actor, 'device.renamed', device, ctx, { from: device.name, to: name });
    this.deps.events.emit('device.changed', { device: updated });
    return updated;
  }

  /** Set a datastream from the people's side: validated, kept, and sent to `downlink/ds/<name>`. */
  async writeDatastream(
    actor: AuthenticatedActor,
    deviceId: string,
    name: string,
    raw: string | number,
    ctx: RequestContext,
  ): Promise<{ value: DatastreamValue; online: boolean }> {
    const { store, clock, events, connections } = this.deps;
    const device = await this.#controllable(actor, deviceId);
    const template = await store.templates.get(device.templateId);
    const ds = template?.datastreams.find((d) => d.name === name);
    if (!ds) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Datastream ${name} is not defined by template ${device.templateId}.`,
      );
    }
    const value = parseDatastreamValue(ds, String(raw));
    const at = clock.now();
    // Sent first: a value the device's receive buffer cannot take is refused before it is kept.
    const online = connections.sendToDevice(device.id, downlink.ds(name), formatDatastreamValue(value));
    // A write is a command to the device; the latest value it leaves is telemetry (coalesced).
    const updated = await store.devices.putValues(device.id, { [name]: { value, at } });
    events.emit('device.value', { device: updated, name, value, at });
    await this.#activity(actor, 'device.datastream-written', device, ctx, { datastream: name, online });
    return { value, online };
  }

  /** `downlink/reconfigure`: the device re-enters provisioning without a reset button. */
  async reconfigure(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
  ): Promise<{ online: boolean }> {
    const device = await this.#controllable(actor, deviceId);
    const online = this.deps.connections.sendToDevice(device.id, downlink.reconfigure, '', 1);
    await this.#activity(actor, 'device.reconfigure-requested', device, ctx, { online });
    return { online };
  }

  /** `downlink/reboot`: an empty payload; the device restarts. */
  async reboot(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
  ): Promise<{ online: boolean }> {
    const device = await this.#controllable(actor, deviceId);
    const online = this.deps.connections.sendToDevice(device.id, downlink.reboot, '');
    await this.#activity(actor, 'device.reboot-requested', device, ctx, { online });
    return { online };
  }

  /**
   * `downlink/ping`, always QoS 1 (Blynk): the device's PUBACK is the answer. Resolves with the
   * round trip, or with `answered: false` when none came within `timeoutMs`.
   */
  async ping(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
    timeoutMs = PING_TIMEOUT_MS,
  ): Promise<{ online: boolean; answered: boolean; rttMs?: number }> {
    const device = await this.#controllable(actor, deviceId);
    const result = await this.deps.connections.sendAndConfirm(device.id, downlink.ping, '', timeoutMs);
    const answer = {
      online: result.online,
      answered: result.acked,
      ...(result.rttMs !== undefined ? { rttMs: result.rttMs } : {}),
    };
    await this.#activity(actor, 'device.ping-requested', device, ctx, answer);
    return answer;
  }

  /**
   * `downlink/redirect`: the device moves to another broker (another gateway node, a new address).
   * The payload is the URL, as Blynk sends it and its samples read it (`urlparse`): scheme mqtt,
   * mqtts, ws or wss, a host and an explicit port.
   */
  async redirect(
    actor: AuthenticatedActor,
    deviceId: string,
    url: string,
    ctx: RequestContext,
  ): Promise<{ online: boolean; url: string }> {
    const device = await this.deps.devices.getVisible(actor, deviceId);
    // The device hands its token to the broker it is sent to: only whoever may provision it (its
    // owner or an admin of its organization, never a share) may point it somewhere else.
    if (!canManageDevice(actor, device, 'devices.provision')) {
      throw new TetherError(
        'PERMISSION_DENIED',
        'Only the owner of this device, or an admin of its organization, may redirect it.',
      );
    }
    const target = redirectUrl(url);
    const online = this.deps.connections.sendToDevice(device.id, downlink.redirect, target);
    await this.#audit(actor, 'device.redirect-requested', device, ctx, { online, url: target });
    return { online, url: target };
  }

  /**
   * Move a device to a user (it joins that user's org, owned by them) or to an org (unowned),
   * inside the caller's subtree. The new owner must be active; the same owner is an error.
   */
  async transfer(
    actor: AuthenticatedActor,
    deviceId: string,
    to: { userId?: string; orgId?: string },
    ctx: RequestContext,
  ): Promise<Device> {
    const { store, events } = this.deps;
    const device = await this.deps.devices.getVisible(actor, deviceId);
    if (!canManageDevice(actor, device, 'devices.transfer')) {
      throw new TetherError('PERMISSION_DENIED', 'You may not transfer this device.');
    }
    let target: { orgId: string; ownerId: string | null };
    if (to.userId) {
      const user = await store.users.get(to.userId);
      if (!user || !actor.visibleOrgIds.has(user.orgId)) {
        throw new TetherError(
          'NOT_FOUND',
          `User ${to.userId} does not exist or is outside your organization.`,
        );
      }
      if (user.status !== 'active') {
        throw new TetherError(
          'VALIDATION_FAILED',
          `User ${user.email} is not active yet; a device can go only to an active user.`,
        );
      }
      if (to.orgId && to.orgId !== user.orgId) {
        throw new TetherError('VALIDATION_FAILED', 'That user belongs to another organization.');
      }
      target = { orgId: user.orgId, ownerId: user.id };
    } else if (to.orgId) {
      const org = await store.orgs.get(to.orgId);
      if (!org || !actor.visibleOrgIds.has(org.id)) {
        throw new TetherError('NOT_FOUND', `Organization ${to.orgId} does not exist or is outside yours.`);
      }
      target = { orgId: org.id, ownerId: null };
    } else {
      throw new TetherError('VALIDATION_FAILED', 'Name the user or the organization to transfer to.');
    }
    if (!can(actor, 'devices.transfer', { orgId: target.orgId })) {
      throw new TetherError('PERMISSION_DENIED', 'You may not transfer devices into that organization.');
    }
    if (target.orgId === device.orgId && target.ownerId === device.ownerId) {
      throw new TetherError('CONFLICT', 'The device already belongs there.');
    }
    const updated = await store.devices.update(device.id, target);
    // Shares were the previous owner's to give: a device that changes hands starts unshared.
    if (target.ownerId !== device.ownerId) {
      for (const grant of await store.grants.forDevice(device.id)) await store.grants.delete(grant.id);
    }
    const details = { from: { orgId: device.orgId, ownerId: device.ownerId }, to: target };
    await this.#audit(actor, 'device.transferred', device, ctx, details);
    // The receiving org's auditors see the arrival in their own log.
    if (target.orgId !== device.orgId) await this.#audit(actor, 'device.transferred', updated, ctx, details);
    events.emit('device.changed', { device: updated });
    return updated;
  }

  /**
   * A new token for the same device id, keeping its data: the old token stops working at once
   * (its hash leaves the index) and a connection that used it is dropped.
   */
  async reprovision(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
  ): Promise<{ device: Device; token: string; wasOnline: boolean }> {
    const device = await this.deps.devices.getVisible(actor, deviceId);
    // Not through a share: a token made by a grantee would outlive the grant.
    if (!canManageDevice(actor, device, 'devices.provision')) {
      throw new TetherError(
        'PERMISSION_DENIED',
        'Only the owner of this device, or an admin of its organization, may re-provision it.',
      );
    }
    if (device.status === 'revoked') {
      throw new TetherError('CONFLICT', 'This device token was revoked; create a new device instead.');
    }
    // A connected device hears downlink/reconfigure while its old token still works, so it goes
    // back to provisioning instead of looping on refused connects; its PUBACK says it heard.
    const told = await this.deps.connections.sendAndConfirm(
      device.id,
      downlink.reconfigure,
      '',
      RECONFIGURE_ACK_TIMEOUT_MS,
    );
    const token = newDeviceToken();
    const updated = await this.deps.store.devices.update(device.id, { tokenHash: sha256Hex(token) });
    const wasOnline = await this.deps.connections.disconnect(
      device.id,
      're-provisioned: the old token is void',
    );
    await this.#audit(actor, 'device.reprovisioned', device, ctx, {
      wasOnline: wasOnline || told.online,
      reconfigureAcked: told.acked,
    });
    this.deps.events.emit('device.changed', { device: updated });
    return { device: updated, token, wasOnline };
  }

  /**
   * Delete: the record (and so its token hash), its shares and its timeline leave the store first,
   * in one transaction, so the token is refused at once; a connected device is told on
   * `downlink/wipe` to forget it, then dropped (DeviceRemoval, as for an org's devices).
   */
  async delete(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
  ): Promise<{ wasOnline: boolean }> {
    const device = await this.deps.devices.getVisible(actor, deviceId);
    if (!canManageDevice(actor, device, 'devices.delete')) {
      throw new TetherError('PERMISSION_DENIED', 'You may not delete this device.');
    }
    await this.deps.store.transaction((tx) => deleteDeviceRows(tx, [device.id]));
    const wasOnline = await this.deps.removal.removed(device, 'device deleted');
    await this.#audit(actor, 'device.deleted', device, ctx, { wasOnline, name: device.name });
    return { wasOnline };
  }

  async #controllable(actor: AuthenticatedActor, deviceId: string): Promise<Device> {
    const device = await this.deps.devices.getVisible(actor, deviceId);
    if (!canControlDevice(actor, device)) {
      throw new TetherError('PERMISSION_DENIED', 'You may view this device but not control it.');
    }
    return device;
  }

  /**
   * Commands go to the bounded device-activity log, so a burst of them never crowds out account
   * history. Like the latest value a command leaves, its record reaches the disk within the
   * telemetry window: the answer does not wait for an fsync per command.
   */
  #activity(
    actor: AuthenticatedActor,
    action: string,
    device: Device,
    ctx: RequestContext,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.deps.auditor.deviceActivity({
      actor: actor.userId,
      action,
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip: ctx.ip,
      details,
    });
  }

  #audit(
    actor: AuthenticatedActor,
    action: string,
    device: Device,
    ctx: RequestContext,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.deps.auditor.record({
      actor: actor.userId,
      action,
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip: ctx.ip,
      details,
    });
  }
}
