/**
 * A cluster's live state in Redis: the same contracts as one node's, and what only a cluster
 * promises: another node hears the event, sees the device online and where, a takeover moves the
 * device without a departure undoing it, and a dead node's devices go offline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENTS_CHANNEL, RedisEventBus } from '../../gateway/cluster/redis-event-bus.js';
import { RedisLink } from '../../gateway/cluster/redis-link.js';
import { RedisPresence } from '../../gateway/cluster/redis-presence.js';
import type { Device } from '../../gateway/store/types.js';
import { SystemClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { SKIP_REDIS, startRedis, type TestRedis } from '../support/redis-server.js';
import { eventBusContract, presenceContract, someDevice } from './live-state-contract.js';

interface TestNode {
  link: RedisLink;
  bus: RedisEventBus;
  presence: RedisPresence;
  stop(): Promise<void>;
}

describe.skipIf(SKIP_REDIS)('live state in Redis', () => {
  let redis: TestRedis;
  const records = new Map<string, Device>();
  let counter = 0;

  async function node(nodeTimeoutMs = 15_000): Promise<TestNode> {
    const nodeId = `node-${++counter}`;
    const link = new RedisLink({ url: redis.url, logger: silentLogger() });
    const bus = new RedisEventBus({
      link,
      nodeId,
      readDevice: async (id) => records.get(id),
      logger: silentLogger(),
    });
    const presence = new RedisPresence({
      link,
      nodeId,
      clock: new SystemClock(),
      logger: silentLogger(),
      nodeTimeoutMs,
    });
    await link.start();
    await bus.start();
    await presence.start();
    return {
      link,
      bus,
      presence,
      stop: async () => {
        await presence.stop();
        await bus.stop();
        await link.stop();
      },
    };
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    const admin = new RedisLink({ url: redis.url, logger: silentLogger() });
    await admin.start();
    await admin.redis.flushall();
    await admin.stop();
    records.clear();
  });

  eventBusContract('redis', async () => {
    const n = await node();
    return { bus: n.bus, done: n.stop };
  });
  presenceContract('redis', async () => {
    const n = await node();
    return { presence: n.presence, done: n.stop };
  });

  it('an event raised on one node reaches the listeners of another, carrying no secret', async () => {
    const [a, b] = [await node(), await node()];
    const heard: unknown[] = [];
    const local: unknown[] = [];
    b.bus.on('device.value', (event) => heard.push(event));
    b.bus.onLocal('device.value', (event) => local.push(event));
    a.bus.emit('device.value', { device: someDevice('dev_1'), name: 'temp', value: 21.5, at: 5 });
    await vi.waitFor(() => expect(heard).toHaveLength(1));
    expect(heard[0]).toEqual({
      device: { id: 'dev_1', orgId: 'org_1', ownerId: 'usr_1', lastSeenAt: 1 },
      name: 'temp',
      value: 21.5,
      at: 5,
    });
    // Per-node counters count an event once in the cluster, where it happened.
    expect(local).toHaveLength(0);
    await a.stop();
    await b.stop();
  });

  it('a whole record (activated, changed) is read from the shared store by the node that hears it', async () => {
    const [a, b] = [await node(), await node()];
    const stored = { ...someDevice('dev_2'), name: 'as stored', status: 'active' } as Device;
    records.set('dev_2', stored);
    const heard: Device[] = [];
    b.bus.on('device.activated', ({ device }) => heard.push(device));
    a.bus.emit('device.activated', { device: { ...stored, name: 'stale copy' } });
    // Deleted before another node heard of it: nothing to say.
    a.bus.emit('device.changed', { device: someDevice('dev_gone') });
    await vi.waitFor(() => expect(heard).toHaveLength(1));
    expect(heard[0]?.name).toBe('as stored');
    await a.stop();
    await b.stop();
  });

  it('a burst of events in one turn travels as one message', async () => {
    const [a, b] = [await node(), await node()];
    const spy = new RedisLink({ url: redis.url, logger: silentLogger() });
    await spy.start();
    let messages = 0;
    await spy.subscribe(EVENTS_CHANNEL, () => messages++);
    const heard: number[] = [];
    b.bus.on('device.value', ({ at }) => heard.push(at));
    for (let i = 0; i < 200; i++) {
      a.bus.emit('device.value', { device: someDevice('dev_3'), name: 'n', value: i, at: i });
    }
    await vi.waitFor(() => expect(heard).toHaveLength(200));
    expect(heard).toEqual([...Array(200).keys()]);
    expect(messages).toBe(1);
    await spy.stop();
    await a.stop();
    await b.stop();
  });

  it('a device online on one node is online on every node, and where', async () => {
    const [a, b] = [await node(), await node()];
    await a.presence.arrive('dev_1');
    await vi.waitFor(() => expect(b.presence.nodeOf('dev_1')).toBe(a.presence.nodeId));
    // A node that joins later learns it at start.
    const c = await node();
    expect(c.presence.nodeOf('dev_1')).toBe(a.presence.nodeId);
    expect(await a.presence.leave('dev_1')).toBe(true);
    await vi.waitFor(() => expect(b.presence.isOnline('dev_1')).toBe(false));
    await vi.waitFor(() => expect(c.presence.isOnline('dev_1')).toBe(false));
    await a.stop();
    await b.stop();
    await c.stop();
  });

  it('a takeover moves the device: the old node hears it, and its late departure changes nothing', async () => {
    const [a, b] = [await node(), await node()];
    const moved: Array<[string, string]> = [];
    a.presence.onMoved((deviceId, nodeId) => moved.push([deviceId, nodeId]));
    await a.presence.arrive('dev_1');
    await b.presence.arrive('dev_1');
    await vi.waitFor(() => expect(moved).toEqual([['dev_1', b.presence.nodeId]]));
    // A's old session closes after the takeover: the device stays online, on B.
    expect(await a.presence.leave('dev_1')).toBe(false);
    await vi.waitFor(() => expect(a.presence.nodeOf('dev_1')).toBe(b.presence.nodeId));
    expect(b.presence.nodeOf('dev_1')).toBe(b.presence.nodeId);
    await a.stop();
    await b.stop();
  });

  it('a node that stops leaves the cluster with its devices', async () => {
    const [a, b] = [await node(), await node()];
    await b.presence.arrive('dev_1');
    await vi.waitFor(() => expect(a.presence.isOnline('dev_1')).toBe(true));
    await b.stop();
    await vi.waitFor(() => expect(a.presence.isOnline('dev_1')).toBe(false));
    await a.stop();
  });

  it('a node that dies is swept: its devices go offline everywhere, and a live node says so', async () => {
    const [a, b] = [await node(900), await node(900)];
    const departed: string[] = [];
    a.presence.onDeparted((id) => departed.push(id));
    b.presence.onDeparted((id) => departed.push(id));
    const doomed = await node(900);
    await doomed.presence.arrive('dev_9');
    await doomed.presence.arrive('dev_10');
    await vi.waitFor(() => expect(a.presence.size).toBe(2));
    expect((await a.presence.liveNodes()).length).toBe(3);
    // kill -9: its Redis connections drop, nobody cleans up, its heartbeat expires.
    doomed.link.redis.disconnect();
    await doomed.link.stop();
    await vi.waitFor(
      () => {
        expect(departed.sort()).toEqual(['dev_10', 'dev_9']);
        expect(a.presence.size).toBe(0);
        expect(b.presence.size).toBe(0);
      },
      { timeout: 5_000, interval: 100 },
    );
    expect((await a.presence.liveNodes()).length).toBe(2);
    await doomed.presence.stop();
    await a.stop();
    await b.stop();
  });
});
