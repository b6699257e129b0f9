/**
 * Names and addresses from outside: control characters are refused in names, addresses are
 * normalised so that look-alikes reach the same account (or are refused), and data that still
 * carries control characters (a device's own values) reaches a terminal escaped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli } from '../support/run-cli.js';

type Err = { error?: { code: string } };
const HOSTILE = [
  '\u001b[31mred',
  'bell\u0007',
  'csi\u009b2J',
  'abc\u202etxt.exe',
  'nul\u0000',
  'line\u2028two',
];
// Nothing that moves a cursor, recolours, reorders or breaks a line may reach the terminal raw.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029\u2066-\u2069]/;

describe('names and emails', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let home: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
    home = await mkdtemp(join(tmpdir(), 'tether-names-'));
  });
  afterAll(async () => {
    await gw.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('refuses control characters and bidi overrides in every name', async () => {
    const device = await activeDevice(gw, admin, templateId);
    for (const name of HOSTILE) {
      const attempts: Array<[string, string, unknown]> = [
        ['POST', '/api/templates', { name }],
        ['PATCH', `/api/templates/${templateId}`, { name }],
        ['PATCH', `/api/devices/${device.deviceId}`, { name }],
        ['POST', '/api/orgs', { name }],
        ['POST', '/api/provisioning/sessions', { templateId, name }],
        ['POST', '/api/static-tokens', { templateId, count: 1, namePrefix: name }],
        ['POST', '/api/claims', { claimCode: 'ABCD-EFGH-JKLM-NPQR-STUV', name }],
      ];
      for (const [method, path, body] of attempts) {
        const res = await gw.api<Err>(method, path, body, admin);
        expect(res.status, `${method} ${path} ${JSON.stringify(name)}`).toBe(400);
        expect(res.body.error?.code).toBe('VALIDATION_FAILED');
      }
    }
    // Letters of any script are names; a plain right-to-left name is fine.
    expect(
      (await gw.api('PATCH', `/api/devices/${device.deviceId}`, { name: 'מזגן סלון' }, admin)).status,
    ).toBe(200);
  });

  it('normalises addresses: a full-width look-alike is the same account; NUL and RTL marks are refused', async () => {
    const fullWidth = 'ａｄｍｉｎ@example.com';
    const taken = await gw.api<Err>('POST', '/api/invitations', { email: fullWidth, roleId: 'user' }, admin);
    expect(taken.status).toBe(409);
    for (const email of [
      'new@example.com\u0000',
      'new@example.com\u200f',
      '\u202enew@example.com',
      'new\u200d@example.com',
    ]) {
      const res = await gw.api<Err>('POST', '/api/invitations', { email, roleId: 'user' }, admin);
      expect(res.status, JSON.stringify(email)).toBe(400);
      expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    }
    expect(await gw.gateway.services.store.users.count()).toBe(1);
    // The look-alike logs in to the one account it looks like.
    const login = await gw.api('POST', '/api/auth/login', { email: fullWidth, password: ADMIN.password });
    expect(login.status).toBe(200);
  });

  it('escapes what a device sends before it reaches a terminal, in tables and in --json', {
    timeout: 90_000,
  }, async () => {
    const device = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, device.token);
    const evil = '\u001b]0;pwned\u0007\u001b[2J\u009b31mX\u202eevil';
    await dev.client.publishAsync('ds/label', evil);
    await expect
      .poll(async () => (await gw.gateway.services.store.devices.get(device.deviceId))?.values.label?.value)
      .toBe(evil);
    await dev.client.endAsync();
    const env = { TETHER_HOME: home, TETHER_GATEWAY_URL: gw.baseUrl };
    expect((await runCli(['login', '--email', ADMIN.email, '--password', ADMIN.password], env)).code).toBe(0);

    const shown = await runCli(['device', 'show', device.deviceId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toMatch(RAW);
    expect(shown.stdout).toContain('\\u001b]0;pwned\\u0007');
    expect(shown.stdout).toContain('\\u009b31mX\\u202eevil');

    const json = await runCli(['device', 'show', device.deviceId, '--json'], env);
    expect(json.stdout).not.toMatch(RAW);
    expect(JSON.parse(json.stdout).values.label.value).toBe(evil);
  });
});
