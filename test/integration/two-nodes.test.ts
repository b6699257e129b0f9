/**
 * A cluster of gateways: nodes A and B (and, for the crash, a node C in its own process) share one
 * PostgreSQL and one Redis, both started by this test in temp folders. Each node has its own
 * HTTP and MQTT ports. What a person does on one node reaches a device on another:
 * activation, writes, pings, presence, takeover, revocation, limits, and a node killed with -9.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFactoryData } from '../../firmware-sim/factory-data.js';
import { MemoryFlash } from '../../firmware-sim/flash.js';
import { SimulatedAir } from '../../firmware-sim/radio.js';
import { SimulatedDevice } from '../../firmware-sim/simulated-device.js';
import { EVENTS_CHANNEL } from '../../gateway/cluster/redis-event-bus.js';
import { SystemClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { readServerSentEvents, type ServerSentEvent } from '../../shared/sse.js';
import { activeDevice, addUser, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres, type TestPostgres } from '../support/postgres-server.js';
import { SKIP_REDIS, startRedis, type TestRedis } from '../support/redis-server.js';
import { startCli, stopCli } from '../support/run-cli.js';
import { HOME_WIFI } from '../support/sim-device.js';

interface Stream {
  events: ServerSentEvent[];
  close(): void;
}

/** An SSE stream on a node, read in the background. */
async function openStream(node: TestGateway, path: string, token: string): Promise<Stream> {
  const controller = new AbortController();
  const res = await fetch(`${node.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const events: ServerSentEvent[] = [];
  void (async () => {
    try {
      for await (const event of readServerSentEvents(res.body as ReadableStream<Uint8Array>))
        events.push(event);
    } catch {
      // aborted
    }
  })();
  return { events, close: () => controller.abort() };
}

describe.skipIf(SKIP_POSTGRES || SKIP_REDIS)('two gateway nodes on one PostgreSQL and one Redis', () => {
  let postgres: TestPostgres;
  let redis: TestRedis;
  let storeUrl: string;
  let a: TestGateway;
  let b: TestGateway;
  let admin: string;
  let templateId: string;
  const cluster = () => ({
    store: { backend: 'postgres' as const, url: storeUrl },
    cluster: { redisUrl: redis.url, nodeTimeoutSeconds: 3 },
  });

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    storeUrl = await postgres.createDatabase('tether_cluster');
    a = await startTestGateway(cluster());
    b = await startTestGateway(cluster());
    admin = await a.login();
    templateId = await createTemplate(a, admin);
  }, 120_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
    await postgres?.stop();
  });

  const device = (node: TestGateway, id: string, token = admin) =>
    node.api<{ online: boolean; name: string; values: Record<string, { value: unknown }> }>(
      'GET',
      `/api/devices/${id}`,
      undefined,
      token,
    );

  it('activates a device on B while its companion waits on A, and A sees it online', async () => {
    const session = await a.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    expect(session.status).toBe(201);
    const { deviceId, token } = session.body;
    const companion = await openStream(a, `/api/provisioning/sessions/${deviceId}/events`, admin);
    const watcher = await openStream(a, '/api/stream', admin);
    await expect.poll(() => companion.events[0]?.event).toBe('waiting');
    await expect.poll(() => watcher.events[0]?.event).toBe('snapshot');

    const onB = await connectDevice(b.brokerUrl, token);
    await onB.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, ver: '1.0.0' }), { qos: 1 });
    await expect.poll(() => companion.events.map((e) => e.event)).toEqual(['waiting', 'active']);
    expect(companion.events[1]?.data).toMatchObject({
      state: 'active',
      device: { id: deviceId },
    });
    // A's live stream heard the device come online and be activated on B.
    await expect
      .poll(() => watcher.events.map((e) => e.event))
      .toEqual(expect.arrayContaining(['online', 'activated']));
    expect((await device(a, deviceId)).body.online).toBe(true);

    // Values published on B reach A's stream and A's API.
    await onB.client.publishAsync('ds/temp', '21.5', { qos: 1 });
    await expect
      .poll(() => watcher.events.filter((e) => e.event === 'value').map((e) => e.data.value))
      .toEqual([21.5]);
    expect(watcher.events.find((e) => e.event === 'value')?.data).not.toHaveProperty('tokenHash');

    await onB.client.endAsync();
    await expect.poll(async () => (await device(a, deviceId)).body.online).toBe(false);
    await expect.poll(() => watcher.events.some((e) => e.event === 'offline')).toBe(true);
    companion.close();
    watcher.close();
  });

  it("a device's values go to Redis only while a stream on another node watches it", async () => {
    const [watched, unwatched] = [
      await activeDevice(a, admin, templateId),
      await activeDevice(a, admin, templateId),
    ];
    const spy = new Redis(redis.url);
    const crossed: string[] = [];
    spy.on('message', (_channel: string, message: string) => {
      const batch = JSON.parse(message) as { e: Array<{ e: string; a: { device?: { id: string } } }> };
      for (const event of batch.e) if (event.e === 'device.value') crossed.push(event.a.device?.id ?? '');
    });
    await spy.subscribe(EVENTS_CHANNEL);
    const [x, y] = [
      await connectDevice(b.brokerUrl, watched.token),
      await connectDevice(b.brokerUrl, unwatched.token),
    ];
    const stream = await openStream(a, `/api/stream?deviceId=${watched.deviceId}`, admin);
    await expect.poll(() => stream.events[0]?.event).toBe('snapshot');

    // The unwatched device's value is handled on B (B's API has it) and goes nowhere else.
    await y.client.publishAsync('ds/temp', '19.5', { qos: 1 });
    await expect.poll(async () => (await device(b, unwatched.deviceId)).body.values.temp?.value).toBe(19.5);
    await x.client.publishAsync('ds/temp', '20.5', { qos: 1 });
    await expect
      .poll(() => stream.events.filter((e) => e.event === 'value').map((e) => e.data.value))
      .toEqual([20.5]);
    expect(crossed).toEqual([watched.deviceId]);

    // The stream closes: the watched device's values stay on B too.
    stream.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await x.client.publishAsync('ds/temp', '21.5', { qos: 1 });
    await expect.poll(async () => (await device(b, watched.deviceId)).body.values.temp?.value).toBe(21.5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(crossed).toEqual([watched.deviceId]);
    await Promise.all([x.client.endAsync(), y.client.endAsync(), spy.quit()]);
  });

  it('a write and a ping through A reach the device connected to B', async () => {
    const minted = await activeDevice(a, admin, templateId);
    const onB = await connectDevice(b.brokerUrl, minted.token);
    await expect.poll(async () => (await device(a, minted.deviceId)).body.online).toBe(true);

    const write = await a.api(
      'PUT',
      `/api/devices/${minted.deviceId}/datastreams/power`,
      { value: 1 },
      admin,
    );
    expect(write.status).toBe(200);
    expect(write.body).toMatchObject({ online: true });
    expect(await onB.next('downlink/ds/power')).toBe('1');

    const ping = await a.api<{ online: boolean; answered: boolean; rttMs?: number }>(
      'POST',
      `/api/devices/${minted.deviceId}/ping`,
      undefined,
      admin,
    );
    expect(ping.body).toMatchObject({ online: true, answered: true });
    expect(ping.body.rttMs).toBeGreaterThanOrEqual(0);
    expect(b.gateway.services.broker.connectedDevices).toBeGreaterThanOrEqual(1);
    await onB.client.endAsync();
  });

  it('the same token on B, then A, leaves one session: A takes over', async () => {
    const minted = await activeDevice(a, admin, templateId);
    const onB = await connectDevice(b.brokerUrl, minted.token);
    await expect.poll(() => a.gateway.services.devices.isOnline(minted.deviceId)).toBe(true);
    const onA = await connectDevice(a.brokerUrl, minted.token);
    await onB.closed;
    expect(onA.client.connected).toBe(true);
    expect(b.gateway.services.broker.isConnected(minted.deviceId)).toBe(false);
    expect(a.gateway.services.broker.isConnected(minted.deviceId)).toBe(true);
    // The device stays online, now on A: B's closing session did not take it offline.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const node of [a, b]) expect((await device(node, minted.deviceId)).body.online).toBe(true);
    // A write through B reaches it on A.
    await b.api('PUT', `/api/devices/${minted.deviceId}/datastreams/power`, { value: 0 }, admin);
    expect(await onA.next('downlink/ds/power')).toBe('0');
    await onA.client.endAsync();
  });

  it('a re-provision on A drops the connection on B; a delete on A wipes the device on B', async () => {
    const first = await activeDevice(a, admin, templateId);
    const onB = await connectDevice(b.brokerUrl, first.token);
    await expect.poll(() => a.gateway.services.devices.isOnline(first.deviceId)).toBe(true);
    const reprovision = await a.api('POST', `/api/devices/${first.deviceId}/reprovision`, undefined, admin);
    expect(reprovision.status).toBe(200);
    expect(reprovision.body).toMatchObject({ wasOnline: true });
    await onB.closed;
    const refused = await mqtt
      .connectAsync(b.brokerUrl, { username: 'device', password: first.token, reconnectPeriod: 0 })
      .then(
        (client) => client.endAsync().then(() => 0),
        (error: { code?: number }) => error.code,
      );
    expect(refused).toBe(4);

    const second = await activeDevice(a, admin, templateId);
    const again = await connectDevice(b.brokerUrl, second.token);
    await expect.poll(() => a.gateway.services.devices.isOnline(second.deviceId)).toBe(true);
    const deleted = await a.api('DELETE', `/api/devices/${second.deviceId}`, undefined, admin);
    expect(deleted.body).toMatchObject({ wasOnline: true });
    expect(JSON.parse(await again.next('downlink/wipe'))).toEqual({ reason: 'deleted' });
    await again.closed;
  });

  /** Counts the token lookups a node asks its store for, from now on. */
  function countTokenLookups(node: TestGateway): () => number {
    const table = node.gateway.services.store.devices;
    const lookup = table.byTokenHash.bind(table);
    let count = 0;
    table.byTokenHash = (hash) => {
      count++;
      return lookup(hash);
    };
    return () => count;
  }

  /** A CONNECT's return code: 0 accepted (and closed again), else the refusal's. */
  const connectCode = (url: string, token: string) =>
    mqtt.connectAsync(url, { username: 'device', password: token, reconnectPeriod: 0 }).then(
      (client) => client.endAsync().then(() => 0),
      (error: { code?: number }) => error.code,
    );

  it('a token B has seen costs B no store query; a revoke, re-provision or delete on A refuses it on B at once', async () => {
    const lookups = countTokenLookups(b);
    const changes: Array<[string, (id: string) => Promise<{ status: number }>]> = [
      ['revoke', (id) => a.api('DELETE', `/api/static-tokens/${id}`, undefined, admin)],
      ['re-provision', (id) => a.api('POST', `/api/devices/${id}/reprovision`, undefined, admin)],
      ['delete', (id) => a.api('DELETE', `/api/devices/${id}`, undefined, admin)],
    ];
    for (const [change, run] of changes) {
      const minted = await activeDevice(a, admin, templateId);
      const before = lookups();
      expect(await connectCode(b.brokerUrl, minted.token), change).toBe(0);
      expect(lookups() - before, change).toBe(1);
      // Warm: B answers from what it remembers.
      expect(await connectCode(b.brokerUrl, minted.token), change).toBe(0);
      expect(lookups() - before, change).toBe(1);
      const done = await run(minted.deviceId);
      expect(done.status, change).toBeLessThan(300);
      // Right after A answered, not eventually.
      expect(await connectCode(b.brokerUrl, minted.token), change).toBe(4);
    }
  });

  it('a node back from a Redis outage forgets the tokens it remembered (it may have missed a revoke)', async () => {
    const minted = await activeDevice(a, admin, templateId);
    const lookups = countTokenLookups(b);
    expect(await connectCode(b.brokerUrl, minted.token)).toBe(0);
    expect(await connectCode(b.brokerUrl, minted.token)).toBe(0);
    expect(lookups()).toBe(1);
    const cutter = new Redis(redis.url);
    // Every node's Redis connections are cut, as by a Redis restart or a network cut.
    await cutter.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await cutter.client('KILL', 'TYPE', 'pubsub');
    await cutter.quit();
    await expect.poll(() => b.gateway.services.cluster?.reachable, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => a.gateway.services.cluster?.reachable, { timeout: 10_000 }).toBe(true);
    expect(await connectCode(b.brokerUrl, minted.token)).toBe(0);
    expect(lookups()).toBe(2);
  });

  it('a forced logout on B ends the session on A at once', async () => {
    const { user, token } = await addUser(a);
    expect((await a.api('GET', '/api/me', undefined, token)).status).toBe(200);
    expect((await b.api('POST', `/api/users/${user.id}/logout`, undefined, admin)).status).toBe(204);
    expect((await a.api('GET', '/api/me', undefined, token)).status).toBe(401);
  });

  it("a logout on B refuses that session's access token on A at once", async () => {
    const { user } = await addUser(a);
    const session = await a.api<{ accessToken: string; refreshToken: string }>('POST', '/api/auth/login', {
      email: user.email,
      password: 'another good password',
    });
    expect(session.status).toBe(200);
    const { accessToken, refreshToken } = session.body;
    // Verified (and cached) on A before the logout.
    expect((await a.api('GET', '/api/me', undefined, accessToken)).status).toBe(200);
    expect((await b.api('POST', '/api/auth/logout', { refreshToken })).status).toBe(204);
    await expect.poll(async () => (await a.api('GET', '/api/me', undefined, accessToken)).status).toBe(401);
  });

  // Blocks this test's address for the rest of the file: after every other login.
  it('a login blocked on A is blocked on B', async () => {
    const email = 'nobody-here@example.com';
    for (let i = 0; i < 5; i++) {
      await a.api('POST', '/api/auth/login', { email, password: `wrong password ${i}` });
    }
    const onB = await b.api<{ error: { code: string } }>('POST', '/api/auth/login', {
      email,
      password: 'still wrong',
    });
    expect(onB.status).toBe(429);
    expect(onB.body.error.code).toBe('RATE_LIMITED');
  });

  it('a node killed with -9: its devices reconnect to another node, and what it acknowledged stays', async () => {
    const dataDir = join(a.dataDir, 'node-c');
    const c = await startCli(
      ['gateway', 'start', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0'],
      {
        TETHER_HTTP_HOST: '127.0.0.1',
        TETHER_MQTT_HOST: '127.0.0.1',
        TETHER_STORE_BACKEND: 'postgres',
        TETHER_STORE_URL: storeUrl,
        TETHER_CLUSTER_REDIS_URL: redis.url,
        TETHER_CLUSTER_NODE_TIMEOUT_SECONDS: '3',
        TETHER_LOG_LEVEL: 'info',
      },
      /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)[\s\S]*HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)|HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)[\s\S]*MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/,
      60_000,
    );
    const mqttPort = c.match[1] ?? c.match[4];
    const httpUrl = c.match[2] ?? c.match[3];
    const minted = await activeDevice(a, admin, templateId);
    const clock = new SystemClock();
    const sim = new SimulatedDevice({
      factory: makeFactoryData({ templateId }),
      datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
      flash: new MemoryFlash({
        wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
        cloud: { token: minted.token, brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, templateId },
        configValid: true,
      }),
      air: new SimulatedAir([HOME_WIFI]),
      clock,
      logger: silentLogger(),
      timings: { joinDelayMs: 10, telemetryIntervalMs: 0, backoffBaseMs: 100, backoffMaxMs: 500 },
      fallbackBrokers: [a.brokerUrl],
    });
    try {
      await sim.start();
      await expect.poll(() => sim.state, { timeout: 10_000 }).toBe('running');
      await expect.poll(() => a.gateway.services.devices.isOnline(minted.deviceId)).toBe(true);
      expect(a.gateway.services.broker.isConnected(minted.deviceId)).toBe(false);
      // A change acknowledged by C (HTTP 200) before it dies.
      const renamed = await fetch(`${httpUrl}/api/devices/${minted.deviceId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'renamed on C' }),
      });
      expect(renamed.status).toBe(200);

      c.child.kill('SIGKILL');
      await expect
        .poll(() => a.gateway.services.broker.isConnected(minted.deviceId), { timeout: 15_000 })
        .toBe(true);
      await expect.poll(() => sim.state).toBe('running');
      expect(sim.brokerUrl).toBe(a.brokerUrl);
      const seen = await device(b, minted.deviceId);
      expect(seen.body).toMatchObject({ online: true, name: 'renamed on C' });
      // Commands reach it on its new node, from either node.
      await b.api('PUT', `/api/devices/${minted.deviceId}/datastreams/temp`, { value: 30 }, admin);
      await expect.poll(() => sim.values.temp).toBe('30');
    } finally {
      await sim.stop();
      if (c.child.exitCode === null && c.child.signalCode === null) await stopCli(c.child, 'SIGKILL');
    }
  }, 90_000);

  // Last: it takes the cluster's Redis away.
  it("a node is not ready while the cluster's Redis is away", async () => {
    const ready = await a.api<{ cluster?: { reachable: boolean } }>('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.cluster).toEqual({ reachable: true });
    await redis.stop({ hard: true });
    await expect.poll(async () => (await b.api('GET', '/readyz')).status, { timeout: 10_000 }).toBe(503);
    expect((await b.api<{ cluster?: { reachable: boolean } }>('GET', '/readyz')).body.cluster).toEqual({
      reachable: false,
    });
  });
});
