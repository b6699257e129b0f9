/**
 * A cluster's live state in Redis: the same contracts as one node's, and what only a cluster
 * promises: another node hears the event, sees the device online and where, a takeover moves the
 * device without a departure undoing it, and a dead node's devices go offline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENTS_CHANNEL, RedisEventBus } from '../../gateway/cluster/redis-event-bus.js';
import { RedisLink } from '../../gateway/cluster/redis-link.js';
import { heartbeatKey, RedisPresence } from '../../gateway/cluster/redis-presence.js';
import type { Device } from '../../gateway/store/types.js';
import { ManualClock, SystemClock } from '../../shared/clock.js';
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

  /** A node; `busClock` runs its event bus's timers (the interest sweep), default the wall clock. */
  async function node(nodeTimeoutMs = 15_000, busClock?: ManualClock): Promise<TestNode> {
    const nodeId = `node-${++counter}`;
    const link = new RedisLink({ url: redis.url, logger: silentLogger() });
    const bus = new RedisEventBus({
      link,
      nodeId,
      readDevice: async (id) => records.get(id),
      logger: silentLogger(),
      nodeTimeoutMs,
      ...(busClock ? { clock: busClock } : {}),
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
    await b.bus.interest().want(['d:dev_1']);
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
    await b.bus.interest().want(['o:org_1']);
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

  it('values no other node asked for stay on their node; asked for by device or org, they cross', async () => {
    const [a, b] = [await node(), await node()];
    const spy = new RedisLink({ url: redis.url, logger: silentLogger() });
    await spy.start();
    const published: string[] = [];
    await spy.subscribe(EVENTS_CHANNEL, (message) => {
      const batch = JSON.parse(message.toString()) as {
        e: Array<{ e: string; a: { device: { id: string } } }>;
      };
      for (const event of batch.e) published.push(`${event.e}:${event.a.device.id}`);
    });
    const heard: string[] = [];
    b.bus.on('device.value', ({ device }) => heard.push(device.id));
    b.bus.on('device.event', ({ device }) => heard.push(`event:${device.id}`));
    const value = (id: string, orgId = 'org_1') =>
      a.bus.emit('device.value', { device: { ...someDevice(id), orgId }, name: 't', value: 1, at: 1 });
    const marker = () => a.bus.emit('device.offline', { device: someDevice('marker') });

    // Nobody elsewhere watches: only the marker (every node hears online/offline) leaves A.
    value('dev_1');
    a.bus.emit('device.event', { device: someDevice('dev_1'), code: 'alarm', description: '', at: 1 });
    marker();
    await vi.waitFor(() => expect(published).toEqual(['device.offline:marker']));
    expect(heard).toEqual([]);

    // B watches dev_1 (a stream of one device): dev_1 crosses, dev_2 does not.
    const one = b.bus.interest();
    await one.want(['d:dev_1']);
    value('dev_1');
    value('dev_2');
    a.bus.emit('device.event', { device: someDevice('dev_1'), code: 'alarm', description: '', at: 1 });
    await vi.waitFor(() => expect(heard).toEqual(['dev_1', 'event:dev_1']));

    // B watches org_2 (a stream of everything a person sees): its devices cross.
    const org = b.bus.interest();
    await org.want(['o:org_2']);
    value('dev_3', 'org_2');
    await vi.waitFor(() => expect(heard).toEqual(['dev_1', 'event:dev_1', 'dev_3']));

    // A node that starts later learns what B watches.
    const c = await node();
    c.bus.emit('device.value', { device: someDevice('dev_1'), name: 't', value: 2, at: 2 });
    await vi.waitFor(() => expect(heard).toHaveLength(4));

    // Released (the streams closed): nothing crosses again.
    one.release();
    org.release();
    await vi.waitFor(async () => {
      published.length = 0;
      value('dev_1');
      value('dev_3', 'org_2');
      marker();
      await vi.waitFor(() => expect(published).toContain('device.offline:marker'));
      expect(published).toEqual(['device.offline:marker']);
    });
    await spy.stop();
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it("a dead node's interest is dropped; two listeners of one key keep it until both let go", async () => {
    const aClock = new ManualClock(Date.now());
    const a = await node(15_000, aClock);
    const doomed = await node();
    await doomed.bus.interest().want(['d:dev_1']);
    const first = a.bus.interest();
    const second = a.bus.interest();
    await first.want(['d:dev_2']);
    await second.want(['d:dev_2']);
    const clock = new ManualClock(Date.now());
    const b = await node(15_000, clock);
    // Internal view through the bus: would A publish dev_1's and B dev_2's values?
    const crosses = async (from: TestNode, id: string) => {
      const spy = new RedisLink({ url: redis.url, logger: silentLogger() });
      await spy.start();
      const seen: string[] = [];
      await spy.subscribe(EVENTS_CHANNEL, (m) => seen.push(m.toString()));
      from.bus.emit('device.value', { device: someDevice(id), name: 't', value: 1, at: 1 });
      from.bus.emit('device.offline', { device: someDevice('marker') });
      await vi.waitFor(() => expect(seen.length).toBe(1));
      await spy.stop();
      return seen[0]?.includes(`"id":"${id}"`) ?? false;
    };
    expect(await crosses(b, 'dev_1')).toBe(true);
    first.release();
    expect(await crosses(b, 'dev_2')).toBe(true);
    // kill -9: its heartbeat runs out (here at once) and, at B's next sweep, B drops what it watched.
    doomed.link.redis.disconnect();
    await doomed.link.stop();
    await doomed.presence.stop();
    await b.link.redis.del(heartbeatKey(doomed.presence.nodeId));
    expect(await crosses(b, 'dev_1')).toBe(true);
    await clock.advance(15_000);
    await vi.waitFor(async () => expect(await crosses(b, 'dev_1')).toBe(false));
    // A, alive but taken for dead by B (its heartbeat gone while it stalled), says its keys again.
    await b.link.redis.del(heartbeatKey(a.presence.nodeId));
    await clock.advance(15_000);
    await vi.waitFor(async () =>
      expect(await a.link.redis.sismember('tether:interest:nodes', a.presence.nodeId)).toBe(0),
    );
    expect(await crosses(b, 'dev_2')).toBe(false);
    await aClock.advance(15_000);
    await vi.waitFor(async () => expect(await crosses(b, 'dev_2')).toBe(true));
    second.release();
    await vi.waitFor(async () => expect(await crosses(b, 'dev_2')).toBe(false));
    await doomed.bus.stop();
    await a.stop();
    await b.stop();
  });

  it('a node back from a Redis outage learns what the others started watching meanwhile', async () => {
    const [a, b] = [await node(), await node()];
    const heard: string[] = [];
    b.bus.on('device.value', ({ device }) => heard.push(device.id));
    const cutter = new RedisLink({ url: redis.url, logger: silentLogger() });
    await cutter.start();
    // Every node's subscriber connection drops; B starts watching before A's is back.
    await cutter.redis.client('KILL', 'TYPE', 'pubsub');
    await b.bus.interest().want(['d:dev_1']);
    await vi.waitFor(() => expect(a.link.reachable && b.link.reachable).toBe(true), { timeout: 5_000 });
    await vi.waitFor(
      () => {
        a.bus.emit('device.value', { device: someDevice('dev_1'), name: 't', value: 1, at: 1 });
        expect(heard.length).toBeGreaterThan(0);
      },
      { timeout: 5_000, interval: 100 },
    );
    await cutter.stop();
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
