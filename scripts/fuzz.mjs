// `npm run fuzz`: the property-based fuzz suites (every test file named *.fuzz.test.ts) run for a
// time budget instead of npm test's fixed number of cases, then print how many cases each surface
// tried. Usage: npm run fuzz [-- --minutes N | --seconds N] [--seed S] [name filter…]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const usage = () => {
  process.stderr.write(
    'usage: npm run fuzz [-- --minutes N | --seconds N] [--seed S] [filter…]\n' +
      '  Runs every *.fuzz.test.ts suite for its share of the budget (default 10 minutes in all).\n',
  );
  process.exit(2);
};
let seconds = 600;
let seed;
const filters = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    const v = Number(args[++i]);
    if (!Number.isFinite(v) || v <= 0) usage();
    return v;
  };
  if (arg === '--minutes') seconds = value() * 60;
  else if (arg === '--seconds') seconds = value();
  else if (arg === '--seed') seed = String(Math.trunc(Number(args[++i])));
  else if (arg === '--help' || arg === '-h') usage();
  else if (arg.startsWith('-')) usage();
  else filters.push(arg);
}

const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'test'], {
  encoding: 'utf8',
});
const suites = listed.stdout
  .split('\n')
  .filter((f) => f.endsWith('.fuzz.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((n) => f.includes(n)));
if (suites.length === 0) {
  process.stderr.write(`no fuzz suite matches ${filters.join(' ')}\n`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'tether-fuzz-'));
const report = join(dir, 'report.jsonl');
const perSuiteMs = Math.floor((seconds * 1000) / suites.length);
process.stderr.write(
  `Fuzzing ${suites.length} surface(s) for ${Math.round(seconds)} s (${Math.round(perSuiteMs / 1000)} s each), one after another${seed ? `, seed ${seed}` : ''}.\n`,
);
const started = Date.now();
const run = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--no-file-parallelism', '--hookTimeout=120000', ...suites],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      TETHER_FUZZ_MS_PER_SUITE: String(perSuiteMs),
      TETHER_FUZZ_REPORT: report,
      ...(seed ? { TETHER_FUZZ_SEED: seed } : {}),
    },
  },
);

let lines = [];
try {
  lines = readFileSync(report, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch {
  // no suite got as far as a property
}
rmSync(dir, { recursive: true, force: true });

const bySurface = new Map();
for (const l of lines) bySurface.set(l.surface, [...(bySurface.get(l.surface) ?? []), l]);
const rows = [...bySurface].map(([surface, props]) => [
  surface,
  props.reduce((n, p) => n + p.cases, 0),
  props.map((p) => `${p.property} ${p.cases}${p.failed ? ' FAILED' : ''}`).join(', '),
]);
const width = Math.max(7, ...rows.map((r) => r[0].length));
process.stdout.write(`\n${'surface'.padEnd(width)}  ${'cases'.padStart(9)}  per property\n`);
for (const [surface, cases, detail] of rows)
  process.stdout.write(`${surface.padEnd(width)}  ${String(cases).padStart(9)}  ${detail}\n`);
process.stdout.write(`\n${Math.round((Date.now() - started) / 1000)} s in all.\n`);
process.exit(run.status ?? 1);
