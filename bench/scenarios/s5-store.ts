/**
 * Scenario 5: the embedded store at 1k, 10k and 100k devices. Start time of the real command
 * (`node dist/tether.js gateway start`, until it prints its MQTT line) and of Gateway.create +
 * start inside a process; how long one coalesced write blocks the event loop (max event-loop
 * delay over the window of exactly one write); and how many file writes a burst of 1,000
 * ownership changes (static-token claims over HTTP, 20 at a time) costs.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN } from '../lib/brokers.js';
import { pool } from '../lib/mqtt-conn.js';
import { REPO_DIR } from '../lib/paths.js';
import { now, sleep } from '../lib/proc.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt, median } from '../lib/stats.js';
import { type Context, prepareTetherData, scratchDir, startBroker } from './context.js';

/** Spawn the CLI on a data folder and time it until it says where its broker listens. */
async function cliStartMs(dataDir: string): Promise<number> {
  const t0 = now();
  const child = spawn(
    process.execPath,
    [
      join(REPO_DIR, 'dist/tether.js'),
      'gateway',
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TETHER_LOG_LEVEL: 'warn' }, cwd: dataDir },
  );
  let output = '';
  const ms = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start within 120 s: ${output.slice(-500)}`)),
      120_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('MQTT broker')) {
        clearTimeout(timer);
        resolve(now() - t0);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output.slice(-500)}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return ms;
}

export async function runStore(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s5', 'Scenario 5 — embedded store: start time, write blocking, coalescing');
  const sizes = options.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  const burst = 1_000;
  r.result.config = {
    sizes,
    devicesMintedViaApi:
      'up to 10,000 (POST /api/static-tokens); beyond that cloned into the store in the gateway process',
    burst: `${burst} claims (POST /api/claims), 20 concurrent`,
    store: 'defaults (flushDelayMs 200, telemetryFlushDelayMs 5000)',
    runs: options.runs,
  };
  const dir = scratchDir('store');
  for (const size of sizes) {
    const label = `${size.toLocaleString('en-US')} devices`;
    const dataDir = join(dir, `d${size}`);
    const { devices } = await prepareTetherData(dataDir, size, Math.min(size, 10_000));
    r.add('database file', label, 'MB', statSync(join(dataDir, 'tether.json')).size / 2 ** 20);
    r.command(`node dist/tether.js gateway start --data-dir ${dataDir} --http-port 0 --mqtt-port 0`);
    for (let run = 1; run <= options.runs; run++)
      r.add('CLI start → MQTT listening', label, 'ms', await cliStartMs(dataDir));
    const blocks: number[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const gw = await startBroker('Tether', r, { dataDir, mosqDir: '' });
      try {
        const info = await gw.worker!.call<{ startMs: number }>('info');
        r.add('Gateway.create + start (in process)', label, 'ms', info.startMs);
        const probe = await gw.worker!.call<Array<{ blockMs: number }>>('writeProbe', { count: 5 });
        blocks.push(...probe.map((p) => p.blockMs));
        r.add(
          'one store write: event-loop block (median of 5)',
          label,
          'ms',
          median(probe.map((p) => p.blockMs)),
        );
        r.add(
          'one store write: event-loop block (max of 5)',
          label,
          'ms',
          Math.max(...probe.map((p) => p.blockMs)),
        );
        if (run === 1) {
          // The burst claims devices for good: once per size, on the first run's gateway.
          const baseUrl = `http://127.0.0.1:${gw.httpPort}`;
          const login = await fetch(`${baseUrl}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(ADMIN),
          });
          const { accessToken } = (await login.json()) as { accessToken: string };
          const before = (await gw.worker!.call<{ writeCount: number }>('stats')).writeCount;
          await gw.worker!.call('resetEld');
          const t0 = now();
          let failed = 0;
          await pool(devices.slice(0, burst), 20, async (d) => {
            const res = await fetch(`${baseUrl}/api/claims`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
              body: JSON.stringify({ claimCode: d.claimCode }),
            });
            await res.arrayBuffer();
            if (!res.ok) failed++;
          });
          const burstMs = now() - t0;
          await sleep(1_500); // the last coalescing window, then its write
          const st = await gw.worker!.call<{ writeCount: number; eld: { max: number } }>('stats');
          r.add(`file writes for a burst of ${burst} claims`, label, 'writes', st.writeCount - before);
          const direct = await gw.worker!.call<{ writes: number }>('storeBurst', { count: burst });
          r.add(
            `file writes for ${burst} ownership changes in one tick (store)`,
            label,
            'writes',
            direct.writes,
          );
          r.add(`burst of ${burst} claims: duration`, label, 'ms', burstMs);
          r.add(`burst of ${burst} claims: max event-loop delay`, label, 'ms', st.eld.max);
          if (failed) r.note(`${label}: ${failed} claims failed`);
          console.log(
            `  S5 ${label}: burst ${fmt(burstMs)} ms, ${st.writeCount - before} writes, max delay ${fmt(st.eld.max)} ms`,
          );
        }
      } finally {
        await gw.stop();
      }
    }
    console.log(
      `  S5 ${label}: write block median ${fmt(median(blocks))} ms, max ${fmt(Math.max(...blocks))} ms`,
    );
  }
  const at10k = r.summary('one store write: event-loop block (max of 5)', '10,000 devices');
  if (at10k)
    r.target('no store write blocks > 50 ms at 10k devices', `max ${fmt(at10k.max)} ms`, at10k.max <= 50);
  const writes = r.summary(`file writes for a burst of ${burst} claims`, '10,000 devices');
  const direct = r.summary(
    `file writes for ${burst} ownership changes in one tick (store)`,
    '10,000 devices',
  );
  if (writes && direct)
    r.target(
      `a burst of ${burst} changes costs a handful of writes (≤ 5) at 10k devices`,
      `${fmt(direct.max)} write(s) when they come at once; ${fmt(writes.max)} when they come over HTTP (one per 200 ms window while the burst lasts)`,
      direct.max <= 5 && writes.max <= 5,
    );
  return r.finish();
}
