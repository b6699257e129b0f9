/**
 * Fleet activation throughput, end to end: devices activated per second through the real
 * companion path (gateway session, protocomm over SoftAP HTTP on loopback, security 0/1/2, Wi-Fi,
 * MQTT connect and info/mcu, the gateway's push confirmation), against a gateway in its own
 * process. Each case runs on a fresh template; the fleet runs in this process, or split over
 * worker threads (the bundled CLI is the worker entry).
 *
 *   node bench/fleet-build.mjs && node bench/out/fleet-activation.js --count 500 --concurrency 64
 */
import { resolve } from 'node:path';
import { FleetPool } from '../firmware-sim/fleet-pool.js';
import { FleetRunner } from '../firmware-sim/fleet-runner.js';
import { parseScenario } from '../firmware-sim/fleet-scenario.js';
import { summarize } from '../firmware-sim/fleet-summary.js';
import { silentLogger } from '../shared/logger.js';
import { argValue, BENCH_ADMIN, startBenchGateway } from './fleet-gateway.js';
import { REPO_DIR } from './lib/paths.js';

const cli = resolve(REPO_DIR, 'dist/tether.js');
const count = Number(argValue('count', '500'));
const concurrency = Number(argValue('concurrency', '64'));
const transport = argValue('transport', 'softap') as 'softap' | 'memory';
// A case is security level and worker threads: "s2w0" = security 2, all in this thread.
const cases = argValue('cases', 's2w0,s2w1,s2w2,s1w0,s0w0').split(',');
const datastreams = [{ name: 'temp', type: 'double' as const, min: -40, max: 125 }];

const gateway = await startBenchGateway(cli);
const rows: Array<Record<string, unknown>> = [];
try {
  const admin = await gateway.admin();
  for (const name of cases) {
    const [, security, workers] = /^s([012])w(\d+)$/.exec(name)!.map(Number) as [number, 0 | 1 | 2, number];
    const template = await admin.request<{ id: string }>('POST', '/api/templates', {
      name: `bench ${name}`,
      datastreams,
      minSecurity: security,
    });
    const scenario = parseScenario({ seed: 1, security, transport, concurrency, publishIntervalSeconds: 0 });
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const gwCpu0 = gateway.cpuSeconds();
    const started = Date.now();
    let results: Awaited<ReturnType<FleetRunner['run']>>;
    let provisioningMs: number;
    if (workers === 0) {
      const runner = new FleetRunner({
        count,
        templateId: template.id,
        datastreams,
        scenario,
        users: [{ email: BENCH_ADMIN.email, gateway: admin }],
        logger: silentLogger(),
      });
      results = await runner.run();
      provisioningMs = runner.provisioningMs;
    } else {
      const pool = new FleetPool({
        workers,
        workerUrl: new URL(`file://${cli}`),
        spec: {
          count,
          templateId: template.id,
          datastreams,
          scenario,
          users: [{ email: BENCH_ADMIN.email, baseUrl: gateway.baseUrl, password: BENCH_ADMIN.password }],
          logLevel: 'silent',
        },
      });
      try {
        ({ results, provisioningMs } = await pool.run());
      } finally {
        await pool.stop();
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const summary = summarize(results, {
      users: 1,
      security,
      workers,
      provisioningMs,
      runMs: Date.now() - started,
    });
    const fleetCpu = (cpu.user + cpu.system) / 1e6;
    const gatewayCpu = gateway.cpuSeconds() - gwCpu0;
    rows.push({
      case: name,
      security,
      workers,
      activated: `${summary.activated}/${count}`,
      'activations/s': summary.activationsPerSecond,
      p50: summary.latencyMs?.p50,
      p95: summary.latencyMs?.p95,
      p99: summary.latencyMs?.p99,
      'fleet CPU ms/activation': Math.round((fleetCpu * 1000) / Math.max(1, summary.activated)),
      'gateway CPU ms/activation': Math.round((gatewayCpu * 1000) / Math.max(1, summary.activated)),
      'secure-session p50': summary.stepP50Ms['secure-session'],
      'gateway-session p50': summary.stepP50Ms['gateway-session'],
      'cloud-activation p50': summary.stepP50Ms['cloud-activation'],
      // Busy share of this thread's event loop (workers: the main thread only waits).
      'main loop busy': `${Math.round(elu * 100)} %`,
    });
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
} finally {
  await gateway.stop();
}
const columns = Object.keys(rows[0] ?? {});
process.stdout.write(`| ${columns.join(' | ')} |\n| ${columns.map(() => '---').join(' | ')} |\n`);
for (const row of rows)
  process.stdout.write(`| ${columns.map((c) => String(row[c] ?? '-')).join(' | ')} |\n`);
