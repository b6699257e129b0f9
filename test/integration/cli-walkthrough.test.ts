/**
 * The README, followed as a person would: the real `tether` command in its own processes — start
 * the gateway, log in, create a template, run a simulated device, provision it.
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli, startCli, stopCli } from '../support/run-cli.js';

// Each command is its own Node process and the gateway hashes passwords at production cost (scrypt
// 128 MiB): on a busy 2-core machine the whole walk takes tens of seconds.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

describe('the README walk-through, with the real command line', () => {
  let dir: string;
  let gateway: ChildProcess;
  let device: ChildProcess | undefined;
  let gatewayUrl = '';
  let env: NodeJS.ProcessEnv;
  let templateId = '';
  let label = { name: '', pop: '' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-cli-'));
    env = {
      TETHER_HOME: join(dir, 'home'),
      TETHER_ADMIN_EMAIL: 'you@example.com',
      TETHER_ADMIN_PASSWORD: 'a long password',
      TETHER_LOG_LEVEL: 'warn',
    };
    const started = await startCli(
      ['gateway', 'start', '--data-dir', join(dir, 'data'), '--http-port', '0', '--mqtt-port', '0'],
      env,
      /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/,
      60_000, // a cold start takes ~10 s on a busy 2-core machine
    );
    gateway = started.child;
    gatewayUrl = started.match[1]!;
    env.TETHER_GATEWAY_URL = gatewayUrl;
  }, 90_000);

  afterAll(async () => {
    if (device) await stopCli(device);
    if (gateway) expect(await stopCli(gateway)).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the gateway with HTTP and MQTT listening and the admin created', async () => {
    const health = (await (await fetch(`${gatewayUrl}/healthz`)).json()) as {
      status: string;
      mqtt: { port: number };
    };
    expect(health.status).toBe('ok');
    expect(health.mqtt.port).toBeGreaterThan(0);
  });

  it('refuses a wrong password with exit code 3 and a clear message', async () => {
    const result = await runCli(['login', '--email', 'you@example.com', '--password', 'wrong password'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('INVALID_CREDENTIALS');
  });

  it('logs in, creates a template, and provisions a simulated device that ends active', async () => {
    const login = await runCli(['login', '--email', 'you@example.com', '--password', 'a long password'], env);
    expect(login.stdout).toContain('Logged in to');
    const created = await runCli(
      ['template', 'create', '--name', 'Thermostat', '--datastream', 'temp:double:-40:125', '--json'],
      env,
    );
    expect(created.code).toBe(0);
    templateId = (JSON.parse(created.stdout) as { id: string }).id;

    const sim = await startCli(
      [
        'sim',
        'device',
        '--template',
        templateId,
        '--flash-dir',
        join(dir, 'flash'),
        '--telemetry',
        '0',
        '--json',
      ],
      env,
      /(\{"name".*\})\n/,
    );
    device = sim.child;
    const details = JSON.parse(sim.match[1]!) as {
      name: string;
      softAp: string;
      pop: string;
      accessPoints: string[];
    };

    const provisioned = await runCli(
      [
        'provision',
        '--template',
        templateId,
        '--device',
        details.softAp,
        '--pop',
        details.pop,
        '--ssid',
        details.accessPoints[0]!,
        '--passphrase',
        'tether-lab-pass',
        '--json',
      ],
      env,
    );
    expect(provisioned.code, provisioned.stderr).toBe(0);
    const result = JSON.parse(provisioned.stdout) as { deviceId: string; security: number };
    expect(result.security).toBe(2);
    label = { name: details.name, pop: details.pop };
  });

  it('shows the label (name, PoP, QR) and the Wi-Fi passphrase on every start, also when it resumes', async () => {
    expect(label.name).toMatch(/^PROV_/);
    await stopCli(device!);
    device = undefined;
    // The same --id and flash: the provisioned device comes back from flash, not into provisioning.
    const args = [
      'sim',
      'device',
      '--template',
      templateId,
      '--flash-dir',
      join(dir, 'flash'),
      '--telemetry',
      '0',
    ];
    const resumed = await startCli(args, env, /Reset button/);
    const banner = resumed.output();
    await stopCli(resumed.child);
    expect(banner).toMatch(/resumed from flash/);
    expect(banner).toContain(`Name            ${label.name}`);
    expect(banner).toContain(`PoP             ${label.pop}`);
    expect(banner).toContain(`"name":"${label.name}","pop":"${label.pop}"`);
    expect(banner).toContain('TetherLab (passphrase tether-lab-pass)');
    // A new device, waiting for provisioning, says the same and how to provision it.
    const fresh = await startCli([...args, '--id', 'device-2'], env, /Reset button/);
    const waiting = fresh.output();
    await stopCli(fresh.child);
    expect(waiting).toMatch(/waiting for provisioning/);
    expect(waiting).toContain('TetherLab (passphrase tether-lab-pass)');
    expect(waiting).toMatch(
      /QR payload +\{"ver":"v1","name":"PROV_[0-9A-F]{6}","pop":"[a-z0-9]+","transport":"softap","security":2\}/,
    );
  });
});
