/**
 * A fleet split over two worker threads (FleetPool), against a real gateway on loopback: the
 * worker entry is the bundled CLI (dist/tether.js, built by the test set-up), as in
 * `tether sim fleet --workers 2`. Security 2 here, the default of real devices: a small fleet
 * keeps its SRP cost to a second or two.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetPool } from '../../firmware-sim/fleet-pool.js';
import { assignBehaviours, parseScenario } from '../../firmware-sim/fleet-scenario.js';
import type { FleetDeviceResult } from '../../firmware-sim/fleet-summary.js';
import { seededRandom } from '../../firmware-sim/telemetry.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const COUNT = 16;
const cli = new URL('../../dist/tether.js', import.meta.url);

describe('a fleet over two worker threads', () => {
  let gw: TestGateway;
  let results: FleetDeviceResult[];
  let templateId: string;
  const mix = { wrongPassword: 0.25, networkNotFound: 0.125 };

  beforeAll(async () => {
    gw = await startTestGateway();
    const token = await gw.login();
    templateId = (
      await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'Worker fleet', datastreams: [{ name: 'temp', type: 'double', min: 0, max: 40 }] },
        token,
      )
    ).body.id;
    const pool = new FleetPool({
      workers: 2,
      workerUrl: cli,
      spec: {
        count: COUNT,
        templateId,
        datastreams: [{ name: 'temp', type: 'double', min: 0, max: 40 }],
        scenario: parseScenario({ seed: 5, security: 2, concurrency: 8, joinDelayMs: 20, mix }),
        users: [{ email: ADMIN.email, baseUrl: gw.baseUrl, password: ADMIN.password }],
        logLevel: 'silent',
      },
    });
    try {
      ({ results } = await pool.run());
      expect(pool.progress().done).toBe(COUNT);
    } finally {
      await pool.stop();
    }
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('gets every shard back, in device order, with the behaviours a one-thread run deals', () => {
    expect(fileURLToPath(cli)).toMatch(/dist\/tether\.js$/);
    expect(results.map((r) => r.index)).toEqual([...Array(COUNT).keys()]);
    expect(results.map((r) => r.behaviour)).toEqual(
      assignBehaviours(COUNT, parseScenario({ mix }).mix, seededRandom(5)),
    );
  });

  it('activated what should activate, as the gateway records it', async () => {
    const admin = (await gw.gateway.services.store.users.byEmail(ADMIN.email))!;
    for (const result of results) {
      const device = await gw.gateway.services.store.devices.get(result.deviceId!);
      if (result.behaviour === 'network-not-found') {
        expect(result).toMatchObject({ outcome: 'failed', code: 'WIFI_NETWORK_NOT_FOUND', lastError: 701 });
        // Given back when it failed: no pending device with a live token is left.
        expect(device).toBeUndefined();
      } else {
        expect(result.outcome).toBe('active');
        expect(device).toMatchObject({ status: 'active', ownerId: admin.id, hardwareId: result.hardwareId });
      }
    }
  });
});
