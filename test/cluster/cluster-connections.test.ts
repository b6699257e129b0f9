/**
 * Routing between nodes (ClusterConnections) on a real Redis: a disconnect (a revoked,
 * re-provisioned or deleted token) returns only once every other node has ended the token; a
 * node that never answers delays a request by the injected clock's time, not the wall clock's; a
 * node back from a Redis outage hears that it may have missed messages.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterConnections } from '../../gateway/cluster/cluster-connections.js';
import { RedisLink } from '../../gateway/cluster/redis-link.js';
import { RedisPresence } from '../../gateway/cluster/redis-presence.js';
import type { DeviceConnections, DownlinkConfirmation } from '../../gateway/devices/device-connections.js';
import { type Clock, ManualClock, SystemClock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logger.js';
import { SKIP_REDIS, startRedis, type TestRedis } from '../support/redis-server.js';

/** A node's broker, reduced to what routing asks of it, recording what it was asked. */
class RecordingBroker implements DeviceConnections {
  readonly connected = new Set<string>();
  readonly ended: string[] = [];
  /** sendAndConfirm never answers while set (a device that hangs). */
  hang = false;
  /** How long this node takes to end a token (a busy node). */
  endMs = 0;

  isConnected(deviceId: string): boolean {
    return this.connected.has(deviceId);
  }
  sendToDevice(deviceId: string, _topic: string, payload: string): boolean {
    if (payload.length > 16) throw new TetherError('PAYLOAD_TOO_LARGE', 'over the receive buffer');
    return this.connected.has(deviceId);
  }
  sendAndConfirm(deviceId: string): Promise<DownlinkConfirmation> {
    if (this.hang) return new Promise(() => undefined);
    return Promise.resolve({ online: this.connected.has(deviceId), acked: true });
  }
  async disconnect(deviceId: string): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, this.endMs));
    this.ended.push(deviceId);
    return this.connected.delete(deviceId);
  }
}

interface TestNode {
  link: RedisLink;
  presence: RedisPresence;
  broker: RecordingBroker;
  routing: ClusterConnections;
  stop(): Promise<void>;
}

describe.skipIf(SKIP_REDIS)('routing between nodes', () => {
  let redis: TestRedis;
  let counter = 0;

  async function node(clock: Clock = new SystemClock(), logger = silentLogger()): Promise<TestNode> {
    const nodeId = `route-${++counter}`;
    const link = new RedisLink({ url: redis.url, logger: silentLogger() });
    const presence = new RedisPresence({
      link,
      nodeId,
      clock: new SystemClock(),
      logger: silentLogger(),
      nodeTimeoutMs: 15_000,
    });
    const broker = new RecordingBroker();
    const routing = new ClusterConnections({ local: broker, presence, link, clock, logger });
    await link.start();
    await presence.start();
    await routing.start();
    return {
      link,
      presence,
      broker,
      routing,
      stop: async () => {
        await routing.stop();
        await presence.stop();
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
  });

  it('a disconnect returns once every other node has ended the token, connected there or not', async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    // B, which holds nothing, is the slowest to answer.
    b.broker.endMs = 200;
    c.broker.endMs = 10;
    c.broker.connected.add('dev_1');
    await c.presence.arrive('dev_1');
    await vi.waitFor(() => expect(a.presence.nodeOf('dev_1')).toBe(c.presence.nodeId));
    expect(await a.routing.disconnect('dev_1', 'revoked')).toBe(true);
    // Not "soon": already. B held nothing, and still ended the token (its cache, its handshakes).
    expect(b.broker.ended).toEqual(['dev_1']);
    expect(c.broker.ended).toEqual(['dev_1']);
    expect(a.broker.ended).toEqual(['dev_1']);

    // A device connected nowhere: the same, and nobody held it.
    expect(await b.routing.disconnect('dev_2', 'deleted')).toBe(false);
    expect(a.broker.ended).toEqual(['dev_1', 'dev_2']);
    expect(c.broker.ended).toEqual(['dev_1', 'dev_2']);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it("waits for a node that does not answer by the injected clock's time", async () => {
    const clock = new ManualClock(Date.now());
    const a = await node(clock);
    const b = await node();
    b.broker.connected.add('dev_1');
    b.broker.hang = true;
    await b.presence.arrive('dev_1');
    await vi.waitFor(() => expect(a.presence.nodeOf('dev_1')).toBe(b.presence.nodeId));
    let answer: DownlinkConfirmation | undefined;
    const asked = a.routing.sendAndConfirm('dev_1', 'downlink/ping', '', 1_000).then((result) => {
      answer = result;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answer).toBeUndefined();
    // The device's time and the slack for the other node, on A's clock: then A gives up.
    await clock.advance(1_000 + 3_000);
    await vi.waitFor(() => expect(answer).toEqual({ online: true, acked: false }), { timeout: 1_000 });
    await asked;
    await a.stop();
    await b.stop();
  });

  it('a command over the receive buffer of a device on another node is dropped there, logged with its code', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger(), warn: (details: Record<string, unknown>) => warnings.push(details) };
    const a = await node();
    const b = await node(new SystemClock(), logger as never);
    b.broker.connected.add('dev_1');
    await b.presence.arrive('dev_1');
    await vi.waitFor(() => expect(a.presence.nodeOf('dev_1')).toBe(b.presence.nodeId));
    // Handed to B: A cannot know B's device's buffer.
    expect(a.routing.sendToDevice('dev_1', 'downlink/ds/label', 'x'.repeat(64))).toBe(true);
    await vi.waitFor(() =>
      expect(warnings).toContainEqual(
        expect.objectContaining({ deviceId: 'dev_1', code: 'PAYLOAD_TOO_LARGE', topic: 'downlink/ds/label' }),
      ),
    );
    await a.stop();
    await b.stop();
  });

  it('a node whose Redis connections drop and come back hears that it may have missed messages', async () => {
    const a = await node();
    let reconnected = 0;
    a.link.onReconnect(() => reconnected++);
    const admin = new RedisLink({ url: redis.url, logger: silentLogger() });
    await admin.start();
    // As a Redis restart or a network cut would: every connection of node A is closed.
    await admin.redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await admin.redis.client('KILL', 'TYPE', 'pubsub');
    await vi.waitFor(() => expect(reconnected).toBeGreaterThanOrEqual(1), { timeout: 5_000 });
    await vi.waitFor(() => expect(a.link.reachable).toBe(true));
    await admin.stop();
    await a.stop();
  });
});
