/**
 * The one way devices leave the registry, whoever removes them (a person deleting one device, an
 * org deleted with everything in it): their rows and everything that hangs on them go in the
 * caller's transaction, and once that has committed, each connected device is told on
 * `downlink/wipe` to forget its configuration and is dropped (on whichever node holds it), and
 * the listeners hear `device.deleted`.
 */
import { downlink } from '../../shared/topics.js';
import { type DeviceRef, deviceRef, type EventBus } from '../events.js';
import type { StoreTables } from '../store/store.js';
import type { DeviceConnections } from './device-connections.js';

/** Devices told and dropped per turn when many go at once. */
const REMOVAL_BATCH = 500;

/** What a deleted device hears on downlink/wipe before it is dropped. */
export const WIPE_MESSAGE = { topic: downlink.wipe, payload: JSON.stringify({ reason: 'deleted' }) } as const;

/**
 * Deletes the devices and what hangs on them (shares, timeline events; a backend keeps the
 * latest values with the device row): call it inside a transaction, with that transaction's tables.
 */
export async function deleteDeviceRows(tables: StoreTables, deviceIds: readonly string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  const ids = { in: [...deviceIds] };
  await tables.grants.deleteWhere({ deviceId: ids });
  await tables.deviceEvents.deleteWhere({ deviceId: ids });
  await tables.devices.deleteWhere({ id: ids });
}

export class DeviceRemoval {
  constructor(private readonly deps: { events: EventBus; connections: DeviceConnections }) {}

  /**
   * After the deleting transaction committed: the device, if connected, is told to wipe itself and
   * dropped, and the listeners hear of it. Resolves with whether it was connected.
   */
  async removed(device: DeviceRef, reason: string): Promise<boolean> {
    const wasOnline = await this.deps.connections.disconnect(device.id, reason, WIPE_MESSAGE);
    this.deps.events.emit('device.deleted', { device: deviceRef(device) });
    return wasOnline;
  }

  /**
   * removed() for many devices at once (an org deleted with everything in it): a batch at a time,
   * each batch finished before the next starts, with the event loop free between them. Ten
   * thousand devices are ten thousand disconnects and events (on a cluster as many requests to
   * the other nodes), not work for one turn. A device that fails is handed to `failed`.
   */
  async removedAll(
    devices: readonly DeviceRef[],
    reason: string,
    failed: (device: DeviceRef, error: unknown) => void,
  ): Promise<void> {
    for (let i = 0; i < devices.length; i += REMOVAL_BATCH) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      await Promise.all(
        devices
          .slice(i, i + REMOVAL_BATCH)
          .map((device) => this.removed(device, reason).catch((error: unknown) => failed(device, error))),
      );
    }
  }
}
