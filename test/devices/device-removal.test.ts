/**
 * Many devices removed at once (an org deleted with everything in it): each one is told and
 * dropped and heard of, a bounded batch at a time, with the event loop free between batches.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceConnections } from '../../gateway/devices/device-connections.js';
import { DeviceRemoval } from '../../gateway/devices/device-removal.js';
import { LocalEventBus } from '../../gateway/events.js';
import { silentLogger } from '../../shared/logger.js';

describe('DeviceRemoval.removedAll', () => {
  it('drops 1,200 devices in batches of at most 500, letting the loop run between them', async () => {
    let inFlight = 0;
    let most = 0;
    let turns = 0;
    const seenAfterTurn = new Set<number>();
    const connections = {
      disconnect: async (deviceId: string) => {
        inFlight++;
        most = Math.max(most, inFlight);
        seenAfterTurn.add(turns);
        await Promise.resolve();
        inFlight--;
        if (deviceId === 'dev_13') throw new Error('node gone');
        return deviceId.endsWith('7');
      },
    } as unknown as DeviceConnections;
    const events = new LocalEventBus(silentLogger());
    const heard: string[] = [];
    events.on('device.deleted', ({ device }) => void heard.push(device.id));
    const removal = new DeviceRemoval({ events, connections });
    // Counts the turns of the loop while the removal runs.
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const failed: string[] = [];
    const devices = Array.from({ length: 1200 }, (_, i) => ({
      id: `dev_${i}`,
      orgId: 'org_a',
      ownerId: null,
      lastSeenAt: null,
    }));
    await removal.removedAll(
      devices,
      'its organization was deleted',
      (device) => void failed.push(device.id),
    );
    running = false;
    expect(most).toBeLessThanOrEqual(500);
    expect(heard).toHaveLength(1199);
    expect(failed).toEqual(['dev_13']);
    // Three batches, each begun in a later turn of the loop than the one before.
    expect(seenAfterTurn.size).toBeGreaterThanOrEqual(3);
  });
});
