/**
 * `tether sim fleet` as a developer runs it: the real command in its own process against a real
 * gateway on loopback, logged in as the admin, spreading a small fleet over users it invites for
 * the run (through the gateway's invitation API and its mail outbox), with a scenario file, a
 * seed and --json; and the same summary twice for the same seed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetDeviceResult, FleetSummary } from '../../firmware-sim/fleet-summary.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli } from '../support/run-cli.js';

describe('tether sim fleet', () => {
  let gw: TestGateway;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let templateId: string;
  let scenarioFile: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    dir = await mkdtemp(join(tmpdir(), 'tether-fleet-cli-'));
    env = { TETHER_HOME: join(dir, 'home'), TETHER_GATEWAY_URL: gw.baseUrl };
    const login = await runCli(['login', '--email', ADMIN.email, '--password', ADMIN.password], env);
    expect(login.code).toBe(0);
    const token = await gw.login();
    templateId = (
      await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'CLI fleet', minSecurity: 1, datastreams: [{ name: 'hum', type: 'int', min: 0, max: 100 }] },
        token,
      )
    ).body.id;
    scenarioFile = join(dir, 'scenario.json');
    await writeFile(
      scenarioFile,
      JSON.stringify({
        security: 1,
        concurrency: 4,
        joinDelayMs: 20,
        wifiTimeoutSeconds: 3,
        mix: { wrongPassword: 0.25, wrongPasswordUncorrected: 0.25 },
      }),
    );
  });

  afterAll(async () => {
    await gw?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('provisions a fleet spread over invited users and prints a JSON summary', async () => {
    const args = ['sim', 'fleet', '--count', '8', '--template', templateId, '--provision'];
    const run = await runCli(
      [
        ...args,
        '--scenario',
        scenarioFile,
        '--users',
        '2',
        '--outbox',
        join(gw.dataDir, 'outbox'),
        '--seed',
        '3',
        '--json',
        '--devices',
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const { summary, devices } = JSON.parse(run.stdout) as {
      summary: FleetSummary;
      devices: FleetDeviceResult[];
    };
    expect(summary).toMatchObject({
      devices: 8,
      users: 2,
      security: 1,
      activated: 6,
      failed: { 'WIFI_AUTH_FAILED (701)': 2 },
    });
    expect(new Set(devices.map((d) => d.userEmail)).size).toBe(2);
    // The gateway agrees: each active device belongs to the invited user whose session made it.
    for (const device of devices.filter((d) => d.outcome === 'active')) {
      const stored = await gw.gateway.services.store.devices.get(device.deviceId!);
      const owner = await gw.gateway.services.store.users.byEmail(device.userEmail!);
      expect(stored).toMatchObject({ status: 'active', ownerId: owner!.id });
    }
    // Same seed, same fleet: the same devices get the same fate.
    const again = await runCli(
      [...args, '--scenario', scenarioFile, '--seed', '3', '--json', '--devices'],
      env,
    );
    const second = JSON.parse(again.stdout) as { devices: FleetDeviceResult[] };
    expect(second.devices.map((d) => [d.hardwareId, d.behaviour, d.outcome])).toEqual(
      devices.map((d) => [d.hardwareId, d.behaviour, d.outcome]),
    );
  }, 60_000);

  it('explains a scenario file with every problem at once', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ security: 3, mix: { wrongPassword: 0.9, typo: 1 } }));
    const run = await runCli(['sim', 'fleet', '--count', '2', '--scenario', bad], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('security');
    expect(run.stderr).toContain('typo');
  });
});
