/**
 * The contracts of a gateway's live state, run against every implementation: in this process (one
 * node; test/cluster/local-live-state.test.ts) and in Redis (a cluster; redis-live-state.test.ts).
 * Each `make` gives parts on a fresh state; the cluster's own promises (another node hears it)
 * are tested beside its implementation.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Presence } from '../../gateway/devices/presence.js';
import type { EventBus } from '../../gateway/events.js';
import type { Device } from '../../gateway/store/types.js';

export const someDevice = (id: string): Device =>
  ({ id, orgId: 'org_1', ownerId: 'usr_1', lastSeenAt: 1, tokenHash: 'secret-hash' }) as Device;

export function eventBusContract(
  name: string,
  make: () => Promise<{ bus: EventBus; done(): Promise<void> }>,
): void {
  describe(`event bus contract: ${name}`, () => {
    it('delivers an event to every listener on the node at once, and no more after unsubscribing', async () => {
      const { bus, done } = await make();
      const heard: string[] = [];
      const stop = bus.on('device.offline', ({ device }) => heard.push(`a:${device.id}`));
      bus.on('device.offline', ({ device }) => heard.push(`b:${device.id}`));
      expect(bus.listenerCount('device.offline')).toBe(2);
      bus.emit('device.offline', { device: someDevice('dev_1') });
      expect(heard).toEqual(['a:dev_1', 'b:dev_1']);
      stop();
      bus.emit('device.offline', { device: someDevice('dev_2') });
      expect(heard).toEqual(['a:dev_1', 'b:dev_1', 'b:dev_2']);
      await done();
    });

    it('keeps a throwing listener away from the emitter and the other listeners', async () => {
      const { bus, done } = await make();
      const failures: unknown[] = [];
      const heard: string[] = [];
      bus.on(
        'device.deleted',
        () => {
          throw new Error('writer bug');
        },
        (error) => failures.push(error),
      );
      bus.on('device.deleted', ({ device }) => heard.push(device.id));
      expect(() => bus.emit('device.deleted', { device: someDevice('dev_1') })).not.toThrow();
      expect(heard).toEqual(['dev_1']);
      expect(failures).toHaveLength(1);
      await done();
    });

    it('onLocal hears the events raised on this node', async () => {
      const { bus, done } = await make();
      const heard: string[] = [];
      bus.onLocal('device.activation-failed', ({ code }) => heard.push(code));
      bus.emit('device.activation-failed', { deviceId: 'dev_1', code: 'TEMPLATE_MISMATCH', message: 'm' });
      expect(heard).toEqual(['TEMPLATE_MISMATCH']);
      await done();
    });
  });
}

export function presenceContract(
  name: string,
  make: () => Promise<{ presence: Presence; done(): Promise<void> }>,
): void {
  describe(`presence contract: ${name}`, () => {
    it('says a device is online, and where, from its arrival (at once) to its departure', async () => {
      const { presence, done } = await make();
      const arrived = presence.arrive('dev_1');
      // At once: the broker asks in the same tick.
      expect(presence.isOnline('dev_1')).toBe(true);
      await arrived;
      expect(presence.nodeOf('dev_1')).toBe(presence.nodeId);
      expect([...presence.online()]).toEqual(['dev_1']);
      expect(presence.size).toBe(1);
      expect(await presence.leave('dev_1')).toBe(true);
      expect(presence.isOnline('dev_1')).toBe(false);
      expect(presence.nodeOf('dev_1')).toBeUndefined();
      expect(await presence.leave('dev_1')).toBe(false);
      expect(await presence.leave('never-here')).toBe(false);
      await done();
    });

    it('keeps many devices apart', async () => {
      const { presence, done } = await make();
      await Promise.all(['a', 'b', 'c'].map((id) => presence.arrive(id)));
      await presence.leave('b');
      await vi.waitFor(() => expect([...presence.online()].sort()).toEqual(['a', 'c']));
      expect(presence.size).toBe(2);
      await done();
    });
  });
}
