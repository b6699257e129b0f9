/**
 * `npm run bench [-- <scenario>…] [--runs N] [--quick] [--no-record] [--profile]` (`-- --help` says
 * what each does)
 * Runs the scenarios (all by default: s1 throughput, s2 downlink, s3 connect, s4 activation,
 * s5 store, s6 event-loop, s7 cluster, s8 scale, s9 store-postgres), prints each one's commands and configuration, and appends the results
 * (Markdown) to bench/RESULTS.md and (JSON) to bench/results/<date>.json with the machine's facts.
 * --quick: smaller loads and one run, not recorded unless --record is given.
 */
import { execFileSync, execSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureMosquitto } from './lib/brokers.js';
import { topFrames } from './lib/cpu-profile.js';
import { BENCH_DIR, OUT_DIR, REPO_DIR } from './lib/paths.js';
import { killAll } from './lib/proc.js';
import { markdown, type ScenarioResult } from './lib/report.js';
import type { BenchOptions, Context } from './scenarios/context.js';
import { runThroughput } from './scenarios/s1-throughput.js';
import { runDownlink } from './scenarios/s2-downlink.js';
import { runConnect } from './scenarios/s3-connect.js';
import { runActivation } from './scenarios/s4-activation.js';
import { runStore } from './scenarios/s5-store.js';
import { runEventLoop } from './scenarios/s6-event-loop.js';
import { runCluster } from './scenarios/s7-cluster.js';
import { runScale } from './scenarios/s8-scale.js';
import { runStorePostgres } from './scenarios/s9-store-postgres.js';

const SCENARIOS: Record<string, { aliases: string[]; run: (ctx: Context) => Promise<ScenarioResult> }> = {
  s1: { aliases: ['throughput'], run: runThroughput },
  s2: { aliases: ['downlink'], run: runDownlink },
  s3: { aliases: ['connect', 'connections'], run: runConnect },
  s4: { aliases: ['activation'], run: runActivation },
  s5: { aliases: ['store'], run: runStore },
  s6: { aliases: ['event-loop', 'eventloop'], run: runEventLoop },
  s7: { aliases: ['cluster'], run: runCluster },
  s8: { aliases: ['scale'], run: runScale },
  s9: { aliases: ['store-postgres', 'postgres'], run: runStorePostgres },
};

const USAGE = `npm run bench [-- <scenario>…] [--runs N] [--quick [--record]] [--no-record] [--profile]

Scenarios (all when none is named): ${Object.entries(SCENARIOS)
  .map(([id, s]) => `${id} (${s.aliases.join(', ')})`)
  .join(', ')}.
  --runs N      runs per measurement (default 3; 1 with --quick); the median is reported
  --quick       smaller loads and one run, not recorded unless --record is given
  --no-record   do not append to bench/RESULTS.md and bench/results/
  --profile     write a CPU profile of each Tether run and print its top frames
  --help        this text
`;

const argv = process.argv.slice(2);
let parsed: ReturnType<typeof parseBenchArgs>;
function parseBenchArgs() {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      record: { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  parsed = parseBenchArgs();
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const quick = parsed.values.quick;
const runs = Number(parsed.values.runs ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs takes a whole number of runs, at least 1 (got "${parsed.values.runs}").`);
  process.exit(2);
}
const wanted = parsed.positionals.map(
  (a) =>
    Object.entries(SCENARIOS).find(
      ([id, s]) => id === a.toLowerCase() || s.aliases.includes(a.toLowerCase()),
    )?.[0] ?? a,
);
const unknown = wanted.filter((w) => !Object.hasOwn(SCENARIOS, w));
if (unknown.length) {
  console.error(`Unknown scenario(s): ${unknown.join(', ')}.\n\n${USAGE}`);
  process.exit(2);
}
const selected = wanted.length ? wanted : Object.keys(SCENARIOS);
const record = quick ? parsed.values.record : !parsed.values['no-record'];
const mosquittoVersion = ensureMosquitto();
const options: BenchOptions = {
  runs,
  quick,
  profile: parsed.values.profile,
  mosquitto: mosquittoVersion !== undefined,
};

const pkg = (name: string) =>
  (
    JSON.parse(readFileSync(join(REPO_DIR, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
const sh = (cmd: string) => {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
};
const machine = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? '',
  memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  kernel: release(),
  aedes: pkg('aedes'),
  mqttJs: pkg('mqtt'),
  mosquitto: mosquittoVersion ?? 'not installed',
  commit: sh(`git -C ${JSON.stringify(REPO_DIR)} rev-parse --short HEAD`),
  dirtyTree: sh(`git -C ${JSON.stringify(REPO_DIR)} status --porcelain --untracked-files=no`) !== '',
  loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  otherVitestProcesses: Number(sh('pgrep -fc vitest') || 0),
};
const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
console.log(`${command}\nmachine: ${JSON.stringify(machine)}\noptions: ${JSON.stringify(options)}`);

mkdirSync(join(OUT_DIR, 'logs'), { recursive: true });
rmSync(join(OUT_DIR, 'scratch'), { recursive: true, force: true });
const results: ScenarioResult[] = [];
try {
  for (const id of selected) {
    console.log(`\n== ${id} ==`);
    const started = Date.now();
    const result = await SCENARIOS[id]!.run({ options, scratch: join(OUT_DIR, 'scratch') });
    console.log(`  (${Math.round((Date.now() - started) / 1000)} s)`);
    console.log(`\n${markdown(result)}`);
    results.push(result);
  }
} finally {
  killAll();
}

if (options.profile) {
  const dirs = sh(`find ${JSON.stringify(join(OUT_DIR, 'scratch'))} -name '*.cpuprofile'`)
    .split('\n')
    .filter(Boolean);
  for (const file of dirs) {
    const windowFile = join(dirname(file), 'window.json');
    const window = existsSync(windowFile)
      ? (JSON.parse(readFileSync(windowFile, 'utf8')) as [number, number])
      : undefined;
    const top = topFrames(file, 25, window);
    console.log(
      `\nCPU profile ${file}${window ? ' (measured window only)' : ''}: busy ${top.busyPct.toFixed(0)} % of the time; top frames by self time, % of busy samples`,
    );
    for (const f of top.frames) console.log(`  ${f.selfPct.toFixed(1).padStart(5)} %  ${f.frame}`);
    const keep = join(OUT_DIR, 'profiles');
    mkdirSync(keep, { recursive: true });
    execFileSync('cp', [file, keep]);
  }
}

// The load at the end says whether other work ran meanwhile.
const loadAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
if (record && results.length) {
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  const jsonFile = join(resultsDir, `${stamp}.json`);
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ command, machine: { ...machine, loadAverageAtEnd: loadAtEnd }, options, results }, null, 2)}\n`,
  );
  const file = join(BENCH_DIR, 'RESULTS.md');
  const header = existsSync(file)
    ? ''
    : '# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts); newest last. Earlier runs stay so that the trend shows.\nAnalyses of missed targets are under "Analysis" headings after the run they explain.\n';
  const section = [
    `\n## Run of ${machine.date}`,
    '',
    `\`${command}\` — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB, Node ${machine.node}, Linux ${machine.kernel}, aedes ${machine.aedes}, Mosquitto ${machine.mosquitto}, commit ${machine.commit}${machine.dirtyTree ? ' (+ uncommitted changes of other work in the tree)' : ''}. Load average at start ${machine.loadAverageAtStart.join(' / ')}, at end ${loadAtEnd.join(' / ')}; ${machine.otherVitestProcesses} vitest processes of other work running at start. Runs per measurement: ${options.runs}. JSON: [results/${stamp}.json](results/${stamp}.json).`,
    '',
    ...results.map(markdown),
  ].join('\n');
  appendFileSync(file, header + section);
  console.log(`\nRecorded: ${file} and ${jsonFile}`);
}
process.exit(0);
