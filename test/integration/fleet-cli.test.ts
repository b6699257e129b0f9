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

  it('picks a random seed when none is given, says it, and ends with a progress line that agrees with the summary', async () => {
    const run = await runCli(
      ['sim', 'fleet', '--count', '6', '--template', templateId, '--provision', '--scenario', scenarioFile],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const seed = Number(/Fleet seed (\d+): --seed \1 repeats this run/.exec(run.stderr)?.[1]);
    expect(Number.isInteger(seed)).toBe(true);
    const table = new Map(
      run.stdout
        .split('\n')
        .map((line) => /^(.+?)\s{2,}(\S.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    expect(table.get('seed')).toBe(String(seed));
    const last = run.stderr.trimEnd().split('\n').at(-1)!;
    const counts = /(\d+)\/6 {2}active (\d+) {2}failed (\d+) {2}online (\d+) {2}msgs (\d+)/.exec(last);
    expect(counts, last).not.toBeNull();
    expect({
      done: counts![1],
      active: counts![2],
      failed: counts![3],
      online: counts![4],
      msgs: counts![5],
    }).toEqual({
      done: '6',
      active: table.get('activated'),
      failed: table.get('failed'),
      online: table.get('online at the end'),
      msgs: table.get('messages sent'),
    });
    // Given back, that seed repeats the fleet: the JSON summary names it.
    const again = await runCli(
      [
        ...['sim', 'fleet', '--count', '6', '--template', templateId, '--provision'],
        ...['--scenario', scenarioFile, '--seed', String(seed), '--json'],
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { summary: FleetSummary }).summary.seed).toBe(seed);
  }, 60_000);

  it('says --provision needs --template, in the help and in the error', async () => {
    const run = await runCli(['sim', 'fleet', '--count', '2', '--provision'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--provision needs --template');
    const help = await runCli(['sim', 'fleet', '--help'], env);
    // Commander wraps the help to the terminal's width.
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/--template <id> [^-]*\(required with --provision\)/);
  });

  it('explains a scenario file with every problem at once', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ security: 3, mix: { wrongPassword: 0.9, typo: 1 } }));
    const run = await runCli(['sim', 'fleet', '--count', '2', '--scenario', bad], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('security');
    expect(run.stderr).toContain('typo');
  });
});
