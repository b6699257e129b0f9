/**
 * A fleet of simulated devices against a real gateway on loopback (HTTP and MQTT on port 0, its own
 * temp data folder), provisioned through the real companion code path as several invited users,
 * with a scenario that mixes failures. The fleet's summary is checked against the gateway's own
 * records: every device the fleet calls active is active and owned by the user who provisioned it;
 * every failure has the code its behaviour must produce, and gave its provisioning session back.
 *
 * Security 1 (X25519 + PoP + AES-CTR) keeps this test to seconds on 2 cores: security 2's SRP6a
 * costs ≈ 10 ms of CPU per activation on each side (bench/README.md), which the bench measures
 * instead; every protocol step is otherwise the same.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetRunner } from '../../firmware-sim/fleet-runner.js';
import { EXPECTED_OUTCOME, parseScenario } from '../../firmware-sim/fleet-scenario.js';
import { type FleetDeviceResult, type FleetSummary, summarize } from '../../firmware-sim/fleet-summary.js';
import { inviteFleetUsers, loginFleetUsers } from '../../firmware-sim/fleet-users.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { silentLogger } from '../../shared/logger.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const COUNT = Number(process.env.FLEET_TEST_COUNT ?? 200);

describe(`a fleet of ${COUNT} devices against a real gateway`, () => {
  let gw: TestGateway;
  let results: FleetDeviceResult[];
  let summary: FleetSummary;
  let templateId: string;
  let users: string[];

  beforeAll(async () => {
    gw = await startTestGateway();
    const admin = new GatewayClient({ baseUrl: gw.baseUrl });
    await admin.login(ADMIN.email, ADMIN.password);
    templateId = (
      await admin.request<{ id: string }>('POST', '/api/templates', {
        name: 'Fleet thermostat',
        // Security 1 for this test's speed (see the header); products default to 2.
        minSecurity: 1,
        datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
      })
    ).id;
    const accounts = await inviteFleetUsers({
      admin,
      count: 3,
      outboxDir: join(gw.dataDir, 'outbox'),
      runId: 'it',
    });
    const fleetUsers = await loginFleetUsers(gw.baseUrl, accounts);
    users = fleetUsers.map((u) => u.email);
    const scenario = parseScenario({
      seed: 20261128,
      security: 1,
      transport: 'softap',
      concurrency: 24,
      durationSeconds: 2,
      publishIntervalSeconds: 0.5,
      cloudTimeoutSeconds: 4,
      wifiTimeoutSeconds: 5,
      resetHoldSeconds: 0.2,
      joinDelayMs: 30,
      mix: {
        wrongPassword: 0.1,
        wrongPasswordUncorrected: 0.05,
        networkNotFound: 0.05,
        neverConnect: 0.05,
        flakyWifi: 0.1,
        reset: 0.05,
      },
    });
    const runner = new FleetRunner({
      count: COUNT,
      templateId,
      datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
      scenario,
      users: fleetUsers,
      logger: silentLogger(),
    });
    const started = Date.now();
    results = await runner.run();
    summary = summarize(results, {
      users: fleetUsers.length,
      security: 1,
      workers: 0,
      provisioningMs: runner.provisioningMs,
      runMs: Date.now() - started,
    });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('activates every device whose behaviour should activate, and fails the rest with the right code', () => {
    for (const result of results) {
      const expected = EXPECTED_OUTCOME[result.behaviour];
      expect({ index: result.index, behaviour: result.behaviour, outcome: result.outcome }).toEqual({
        index: result.index,
        behaviour: result.behaviour,
        outcome: expected.active ? 'active' : 'failed',
      });
      if (!expected.active) {
        expect({ behaviour: result.behaviour, code: result.code, lastError: result.lastError }).toEqual({
          behaviour: result.behaviour,
          code: expected.code,
          lastError: expected.lastError,
        });
      }
    }
    const failing = results.filter((r) => !EXPECTED_OUTCOME[r.behaviour].active).length;
    expect(summary.activated).toBe(COUNT - failing);
    expect(summary.failed).toEqual({
      'WIFI_AUTH_FAILED (701)': Math.round(COUNT * 0.05),
      'WIFI_NETWORK_NOT_FOUND (701)': Math.round(COUNT * 0.05),
      'TIMEOUT (702)': Math.round(COUNT * 0.05),
    });
    expect(summary.latencyMs!.p50).toBeGreaterThan(0);
    expect(summary.latencyMs!.p99).toBeGreaterThanOrEqual(summary.latencyMs!.p95);
  });

  it("agrees with the gateway's own records: active, owned by the user who provisioned it", async () => {
    const store = gw.gateway.services.store;
    const userIds = new Map<string, string>();
    for (const email of users) userIds.set(email, (await store.users.byEmail(email))!.id);
    for (const result of results) {
      const device = await store.devices.get(result.deviceId!);
      if (result.outcome === 'failed') {
        // The person gave up and unplugged it: its session (and token) went back at once.
        expect({ index: result.index, device }).toEqual({ index: result.index, device: undefined });
        continue;
      }
      expect(device, `device ${result.index} is in the gateway`).toBeDefined();
      expect({ index: result.index, status: device!.status, ownerId: device!.ownerId }).toEqual({
        index: result.index,
        status: 'active',
        ownerId: userIds.get(result.userEmail!),
      });
      expect(device!.hardwareId).toBe(result.hardwareId);
    }
    // No pending device with a live token is left behind by the failures.
    expect(await store.devices.count({ status: 'pending' })).toBe(0);
    // Nothing active at the gateway that the fleet does not know about.
    const active = (await store.devices.find({ templateId })).filter((d) => d.status === 'active');
    expect(active).toHaveLength(summary.activated);
    // Ownership really is spread over the users.
    for (const email of users)
      expect(results.some((r) => r.userEmail === email && r.outcome === 'active')).toBe(true);
  });

  it('kept the activated devices online publishing, reconnected the flaky ones and wiped the reset ones', () => {
    expect(summary.messagesSent).toBeGreaterThan(summary.activated);
    const flaky = results.filter((r) => r.behaviour === 'flaky-wifi');
    // Two drops are scheduled per flaky device; one may land while it is still rejoining.
    expect(flaky.filter((r) => !(r.networkDrops >= 1 && r.reconnects >= r.networkDrops))).toEqual([]);
    expect(summary.reconnects).toBeGreaterThanOrEqual(flaky.length);
    const reset = results.filter((r) => r.behaviour === 'reset');
    expect(reset.filter((r) => !(r.wiped && r.finalState === 'wait-config'))).toEqual([]);
    expect(summary.resets).toBe(reset.length);
    const healthy = results.filter((r) => r.behaviour === 'normal' || r.behaviour === 'wrong-password');
    expect(healthy.filter((r) => r.finalState !== 'running')).toEqual([]);
  });
});
