/**
 * The `tether device …` and `tether template …` commands, run as a person would (the built CLI in
 * its own process) against a gateway on loopback.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../shared/errors.js';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli, startCli, stopCli } from '../support/run-cli.js';

describe('tether device and template commands', () => {
  let gw: TestGateway;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let templateId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    dir = await mkdtemp(join(tmpdir(), 'tether-device-cli-'));
    env = { TETHER_HOME: join(dir, 'home'), TETHER_GATEWAY_URL: gw.baseUrl };
    const login = await runCli(['login', '--email', ADMIN.email, '--password', ADMIN.password], env);
    expect(login.code, login.stderr).toBe(0);
    templateId = await createTemplate(gw, await gw.login());
  });
  afterAll(async () => {
    await gw.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('mints with a progress bar into CSV and QR images, then claims, lists, shows and controls', async () => {
    const out = join(dir, 'labels');
    const mint = await runCli(
      ['device', 'mint', '--template', templateId, '--count', '25', '--batch', '10', '--out', out],
      env,
    );
    expect(mint.code, mint.stderr).toBe(0);
    // Piped (not a terminal): one progress line per tenth, ending at 100%.
    expect(mint.stderr).toMatch(/minting 0\/25 0%/);
    expect(mint.stderr).toMatch(/minting 25\/25 100%/);
    expect(mint.stdout).toContain('Minted 25 devices');
    const files = await readdir(out);
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(25);
    expect(files).toContain('Heater-0001.png');
    expect(files).toContain('Heater-0025.png');
    const rows = (await readFile(join(out, 'tokens.csv'), 'utf8')).trim().split('\r\n');
    expect(rows).toHaveLength(26);
    const [deviceId, , , token, claimCode] = rows[1]!.split(',');

    const claim = await runCli(['device', 'claim', claimCode!, '--name', 'Porch'], env);
    expect(claim.code, claim.stderr).toBe(0);
    expect(claim.stdout).toContain(`Claimed ${deviceId}`);
    const reuse = await runCli(['device', 'claim', claimCode!], env);
    expect(reuse.code).toBe(4);
    expect(reuse.stderr).toContain('CLAIM_CODE_INVALID');

    const list = await runCli(['device', 'list', '--status', 'active', '--json'], env);
    expect(JSON.parse(list.stdout).map((d: { id: string }) => d.id)).toEqual([deviceId]);
    const dev = await connectDevice(gw.brokerUrl, token!);
    const write = await runCli(['device', 'write', deviceId!, 'temp', '21.5'], env);
    expect(write.code, write.stderr).toBe(0);
    expect(await dev.next('downlink/ds/temp')).toBe('21.5');
    const show = await runCli(['device', 'show', deviceId!], env);
    expect(show.stdout).toMatch(/temp\s+21\.5/);
    expect(show.stdout).toMatch(/createdAt\s+\d{4}-\d\d-\d\dT/);
    expect((await runCli(['device', 'rename', deviceId!, 'Back porch'], env)).stdout).toContain('Back porch');
    const reconfigure = await runCli(['device', 'reconfigure', deviceId!], env);
    expect(reconfigure.stdout).toContain('entering provisioning mode');
    expect(await dev.next('downlink/reconfigure')).toBe('');

    // Re-provisioning ends the device's token: without a terminal to confirm on, it needs --yes.
    expect((await runCli(['device', 'reprovision', deviceId!], env)).code).toBe(2);
    const reprovision = await runCli(['device', 'reprovision', deviceId!, '--yes', '--json'], env);
    expect(JSON.parse(reprovision.stdout)).toMatchObject({ deviceId, wasOnline: true });
    await dev.closed;
    const refused = await runCli(['device', 'delete', deviceId!], env);
    expect(refused.code).toBe(2); // no terminal to confirm on, and no --yes
    const del = await runCli(['device', 'delete', deviceId!, '--yes'], env);
    expect(del.code, del.stderr).toBe(0);
    expect((await runCli(['device', 'show', deviceId!], env)).code).toBe(4);
  }, 180_000); // a dozen CLI processes, each ~1 s to start on a quiet 2-core machine, far more on a busy one

  it('watches live values, disclaims with a new QR code, and revokes a static token', async () => {
    const admin = await gw.login();
    const d = await activeDevice(gw, admin, templateId);
    const watch = await startCli(['device', 'watch', d.deviceId], env, /watching 1 device/);
    const dev = await connectDevice(gw.brokerUrl, d.token);
    await dev.client.publishAsync('ds/temp', '18.5');
    await expect
      .poll(() => watch.output(), { timeout: 5000 })
      .toMatch(new RegExp(`${d.deviceId} temp = 18.5`));
    await stopCli(watch.child);

    const out = join(dir, 'disclaimed');
    const disclaim = await runCli(['device', 'disclaim', d.deviceId, '--out', out], env);
    expect(disclaim.code, disclaim.stderr).toBe(0);
    const code = /New claim code \(shown once\): (\S+)/.exec(disclaim.stdout)?.[1];
    expect(code).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){4}$/);
    expect((await readdir(out)).sort()).toEqual(['Heater-0026.png', 'tokens.csv']);
    // Irreversible: without a terminal to ask on, it needs --yes and does nothing without it.
    const unconfirmed = await runCli(['device', 'revoke', d.deviceId], env);
    expect(unconfirmed.code).toBe(ERROR_TABLE.VALIDATION_FAILED.exit);
    expect(unconfirmed.stderr).toContain('confirm with --yes');
    const revoke = await runCli(['device', 'revoke', d.deviceId, '--yes'], env);
    expect(revoke.code, revoke.stderr).toBe(0);
    await dev.closed;
    expect((await runCli(['device', 'claim', code!], env)).code).toBe(4);
  }, 60_000);

  it('creates a template with Blynk’s spaced names, pings a device and redirects it', async () => {
    const created = await runCli(
      ['template', 'create', '--name', 'Air', '--datastream', 'Set Temperature:double:10:30:sync', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).datastreams).toEqual([
      { name: 'Set Temperature', type: 'double', min: 10, max: 30, sync: true },
    ]);
    const d = await activeDevice(gw, await gw.login(), templateId);
    const dev = await connectDevice(gw.brokerUrl, d.token);
    const ping = await runCli(['device', 'ping', d.deviceId], env);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(new RegExp(`${d.deviceId} answered in \\d+ ms`));
    // A form Blynk's samples could not follow is refused before anything is sent.
    const bad = await runCli(['device', 'redirect', d.deviceId, '--to', 'node2.example.com:1883'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/explicit port|scheme|not a URL/);
    const moved = await runCli(
      ['device', 'redirect', d.deviceId, '--to', 'mqtt://node2.example.com:1883'],
      env,
    );
    expect(moved.code, moved.stderr).toBe(0);
    expect(await dev.next('downlink/redirect')).toBe('mqtt://node2.example.com:1883');
    await dev.client.endAsync();
  }, 60_000);

  it('shows and edits a template', async () => {
    const edit = await runCli(
      ['template', 'edit', templateId, '--name', 'Heater Pro', '--hotspot-prefix', 'HPro'],
      env,
    );
    expect(edit.code, edit.stderr).toBe(0);
    const show = await runCli(['template', 'show', templateId], env);
    expect(show.stdout).toContain('Heater Pro');
    expect(show.stdout).toMatch(/temp\s+double\s+-40\s+125/);
  }, 30_000);
});
