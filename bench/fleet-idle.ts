/**
 * Memory and CPU per idle connected device: N simulated devices in this one process, each with
 * its own mqtt.js connection to a gateway in another process, online and idle (telemetry off;
 * MQTT keepalive 45 s, as the simulator's default). The devices were "provisioned in an earlier
 * life": the bench opens one provisioning session per device over HTTP and pre-loads each
 * device's flash with its token, so the devices boot, connect, send info/mcu and are activated by
 * the gateway — the companion path's cost is fleet-activation.ts's to measure.
 *
 *   node bench/fleet-build.mjs && node --expose-gc bench/out/fleet-idle.js --count 10000
 */
import { resolve } from 'node:path';
import { FLEET_AP, FleetRunner } from '../firmware-sim/fleet-runner.js';
import { parseScenario } from '../firmware-sim/fleet-scenario.js';
import type { ProvisioningSessionInfo } from '../shared/gateway-client.js';
import { silentLogger } from '../shared/logger.js';
import { argValue, startBenchGateway } from './fleet-gateway.js';
import { REPO_DIR } from './lib/paths.js';

const cli = resolve(REPO_DIR, 'dist/tether.js');
const count = Number(argValue('count', '10000'));
const idleSeconds = Number(argValue('idle', '60'));
const lanes = Number(argValue('concurrency', '200'));
// preload: devices resume from flash with a token (fast); companion: each one is provisioned
// through activateDevice first (security 0 over the in-memory link, the cheapest real path).
const via = argValue('via', 'preload') as 'preload' | 'companion';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 200));
  }
};

const gateway = await startBenchGateway(cli);
try {
  const admin = await gateway.admin();
  const template = await admin.request<{ id: string }>('POST', '/api/templates', {
    name: 'idle bench',
    datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
    minSecurity: 0,
  });
  const sessions: ProvisioningSessionInfo[] = new Array(count);
  if (via === 'preload') {
    const sessionsStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          const i = next++;
          sessions[i] = await admin.createProvisioningSession(template.id, `idle-${i}`);
        }
      }),
    );
    process.stderr.write(`${count} provisioning sessions in ${Date.now() - sessionsStarted} ms\n`);
  }

  await settle();
  const before = process.memoryUsage();
  const gatewayBefore = gateway.rssBytes();
  const runner = new FleetRunner({
    count,
    templateId: template.id,
    datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
    scenario: parseScenario({
      seed: 1,
      concurrency: lanes,
      durationSeconds: 86_400,
      publishIntervalSeconds: 0,
      ...(via === 'companion' ? { security: 0, transport: 'memory' } : {}),
    }),
    ...(via === 'companion' ? { users: [{ email: 'bench', gateway: admin }] } : {}),
    initialFlash: (index) => {
      if (via === 'companion') return undefined;
      const s = sessions[index]!;
      return {
        wifi: { ssid: FLEET_AP.ssid, passphrase: FLEET_AP.passphrase },
        cloud: { token: s.token, brokerUrl: s.brokerUrl, templateId: s.templateId },
        configValid: true,
      };
    },
    logger: silentLogger(),
  });
  const connectStarted = Date.now();
  const run = runner.run();
  // A run that fails early must still reach the finally below (which stops the gateway).
  let failed: unknown;
  run.catch((error: unknown) => {
    failed = error;
  });
  for (;;) {
    if (failed) throw failed;
    const p = runner.progress();
    if (p.done === count) break;
    await new Promise((r) => setTimeout(r, 1_000));
    process.stderr.write(`\r  online ${p.online}/${count}`);
  }
  // Stragglers whose connect failed in the storm are in backoff: give them a minute to come in.
  for (let i = 0; i < 60 && runner.progress().online < count; i++)
    await new Promise((r) => setTimeout(r, 1_000));
  const connectMs = Date.now() - connectStarted;
  process.stderr.write(`\n`);
  await settle();
  const online = runner.progress().online;
  const states: Record<string, number> = {};
  for (const r of runner.results) {
    const key = r.lastError ? `${r.finalState} (last_error ${r.lastError})` : r.finalState;
    states[key] = (states[key] ?? 0) + 1;
  }
  const after = process.memoryUsage();
  const gatewayAfter = gateway.rssBytes();
  const activeAtGateway = (
    await admin.request<{ devices: unknown[] }>(
      'GET',
      `/api/devices?templateId=${template.id}&status=active&online=true`,
    )
  ).devices.length;

  const cpu0 = process.cpuUsage();
  const gwCpu0 = gateway.cpuSeconds();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const idleFleetCpu = (cpu.user + cpu.system) / 1e6 / idleSeconds;
  const idleGatewayCpu = (gateway.cpuSeconds() - gwCpu0) / idleSeconds;
  runner.finish();
  await run;

  const rows: Array<[string, string]> = [
    ['devices online (fleet / gateway says active+online)', `${online} / ${activeAtGateway}`],
    [
      'device states when measured',
      Object.entries(states)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', '),
    ],
    [`time to bring all online (${via}, ${lanes} lanes)`, `${(connectMs / 1000).toFixed(1)} s`],
    ['fleet RSS before → after', `${mb(before.rss)} → ${mb(after.rss)}`],
    ['fleet RSS per connected device', kb((after.rss - before.rss) / online)],
    ['fleet JS heap per connected device', kb((after.heapUsed - before.heapUsed) / online)],
    ['fleet external+arrayBuffers per device', kb((after.external - before.external) / online)],
    ['gateway RSS before → after', `${mb(gatewayBefore)} → ${mb(gatewayAfter)}`],
    ['gateway RSS per connected device', kb((gatewayAfter - gatewayBefore) / online)],
    [`fleet CPU while idle (${idleSeconds} s)`, `${(idleFleetCpu * 100).toFixed(1)} % of a core`],
    [`gateway CPU while idle (${idleSeconds} s)`, `${(idleGatewayCpu * 100).toFixed(1)} % of a core`],
  ];
  process.stdout.write('| measure | value |\n| --- | --- |\n');
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
} finally {
  await gateway.stop();
}
