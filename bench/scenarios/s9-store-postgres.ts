/**
 * Scenario 9: the PostgreSQL store at 1,000,000 devices (--quick: 100,000), the operations whose
 * cost grows with the fleet: a plan-limit count, a provisioning session's transaction and the
 * activation after it, a forced delete of an org holding 1 % of the devices, and a whole backup.
 * It runs bench/store-postgres.ts (which starts its own PostgreSQL and seeds it in bulk) once:
 * seeding a million devices takes minutes, so --runs does not repeat it.
 * Target (issue 14): no store operation holds the event loop with more than 20 ms of CPU.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from '../lib/paths.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import type { StoreBenchRow } from '../store-postgres.js';
import { type Context, scratchDir } from './context.js';

const OPS = 'plan limit,activation,org delete,backup';

export async function runStorePostgres(ctx: Context): Promise<ScenarioResult> {
  const devices = ctx.options.quick ? 100_000 : 1_000_000;
  const r = new ResultBuilder(
    's9',
    `Scenario 9 — the PostgreSQL store at ${devices.toLocaleString('en-US')} devices`,
  );
  const dir = scratchDir('s9');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'rows.json');
  const args = [bundle('store-postgres'), '--devices', String(devices), '--ops', OPS, '--json', out];
  r.command(`node ${args.join(' ')}`);
  r.result.config = { devices, ops: OPS, runs: 1 };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`store-postgres exited ${code}`)),
    );
  });
  const [size] = JSON.parse(readFileSync(out, 'utf8')) as Array<{ devices: number; rows: StoreBenchRow[] }>;
  for (const row of size?.rows ?? []) {
    r.add('ops/s', row.name, '/s', row.opsPerSecond);
    r.add('p50', row.name, 'ms', row.p50Ms);
    r.add('Node CPU per op', row.name, 'ms', row.nodeCpuMsPerOp);
    r.add('PostgreSQL CPU per op', row.name, 'ms', row.pgCpuMsPerOp);
    if (row.gapCpuMs !== null) r.add('longest GC-free loop gap, CPU in it', row.name, 'ms', row.gapCpuMs);
  }
  const missed = (size?.rows ?? []).filter((row) => !row.met).map((row) => row.name);
  r.target(
    'no store operation holds the event loop with more than 20 ms of CPU',
    missed.length === 0 ? 'none over' : `over: ${missed.join('; ')}`,
    missed.length === 0,
  );
  return r.finish();
}
