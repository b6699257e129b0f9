/**
 * `tether sim fleet`: N simulated devices in this process (or split over worker threads),
 * optionally provisioned one by one through the real companion code path against a running
 * gateway — as the logged-in user, or spread over users invited for the run — then kept online
 * publishing telemetry. A live progress bar on stderr; a summary table (or --json) on stdout.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FLEET_MAX_SEED } from '../../firmware-sim/factory-data.js';
import { FleetPool, type FleetUserSpec } from '../../firmware-sim/fleet-pool.js';
import { type FleetProgress, FleetRunner, type FleetUser } from '../../firmware-sim/fleet-runner.js';
import { type FleetScenario, parseScenario, readScenarioFile } from '../../firmware-sim/fleet-scenario.js';
import { type FleetDeviceResult, type FleetSummary, summarize } from '../../firmware-sim/fleet-summary.js';
import { inviteFleetUsers } from '../../firmware-sim/fleet-users.js';
import { fleetLogger } from '../../firmware-sim/fleet-worker.js';
import type { DatastreamSpec } from '../../firmware-sim/telemetry.js';
import { TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, readSession, sessionClient } from '../cli/cli-context.js';
import { note, printJson, printTable, safe } from '../cli/output.js';
import { parseDatastreamSpec } from './template-create.js';

interface SimFleetOptions {
  count: string;
  template?: string;
  provision?: boolean;
  scenario?: string;
  users: string;
  seed?: string;
  security?: string;
  transport?: string;
  concurrency?: string;
  duration?: string;
  workers: string;
  datastream?: string[];
  outbox: string;
  flashDir?: string;
  devices?: boolean;
  gateway?: string;
  json?: boolean;
  logLevel: string;
}

const int = (name: string, value: string | undefined, min: number): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new TetherError('VALIDATION_FAILED', `--${name} must be a whole number of at least ${min}.`);
  return n;
};

export function simFleetCommand(sim: Command): void {
  sim
    .command('fleet')
    .description(
      'Run a fleet of simulated devices; with --provision, activate each through the companion flow.',
    )
    .requiredOption('-n, --count <n>', 'how many devices')
    .option(
      '-t, --template <id>',
      'the template (product) the devices are made from (required with --provision)',
    )
    .option(
      '--provision',
      'provision every device through the companion against the gateway (needs --template)',
    )
    .option('--scenario <file>', 'scenario JSON: mix of failures, security, rates, duration')
    .option('--users <k>', 'spread devices over K users invited for the run (1: the logged-in user)', '1')
    .option(
      '--seed <s>',
      `seed 0-${FLEET_MAX_SEED} (overrides the scenario) to repeat a run; random by default`,
    )
    .option('--security <level>', 'provisioning security 0, 1 or 2 (overrides the scenario)')
    .option('--transport <kind>', 'softap (HTTP on loopback) or memory (overrides the scenario)')
    .option('--concurrency <n>', 'activations in flight (overrides the scenario)')
    .option(
      '--duration <seconds>',
      "stay online this long after provisioning, or 'forever' until Ctrl-C (overrides the scenario)",
    )
    .option(
      '--workers <w>',
      'worker threads (0: all in this thread; auto: one per core for security 2 fleets of 100+, where it measured faster)',
      'auto',
    )
    .option('-d, --datastream <spec...>', 'datastreams when not read from the template, name:type[:min:max]')
    .option(
      '--outbox <dir>',
      "the gateway's mail outbox, to accept the invitations of --users",
      'data/outbox',
    )
    .option('--flash-dir <dir>', 'keep each device flash in a file here (default: in memory)')
    .option('--devices', 'with --json: include one result per device')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print the summary as JSON')
    .option('--log-level <level>', 'device log level on stderr', 'silent')
    .action(async (opts: SimFleetOptions) => {
      const count = int('count', opts.count, 1)!;
      const userCount = int('users', opts.users, 1)!;
      const scenario = await buildScenario(opts);
      const workers =
        opts.workers === 'auto'
          ? autoWorkers(scenario, count, opts.provision === true)
          : int('workers', opts.workers, 0)!;
      if (opts.provision && !opts.template)
        throw new TetherError(
          'VALIDATION_FAILED',
          '--provision needs --template <id>: the template (product) the devices activate as (`tether template list`).',
        );
      const templateId = opts.template ?? 'TMPL_SIM';

      // The people this run provisions as, and what the devices publish.
      const baseUrl = await gatewayUrl(opts.gateway);
      let users: FleetUser[] = [];
      let userSpecs: FleetUserSpec[] = [];
      let datastreams: DatastreamSpec[] = (opts.datastream ?? []).map(
        (spec) => parseDatastreamSpec(spec) as unknown as DatastreamSpec,
      );
      if (opts.provision) {
        const admin = await sessionClient(opts.gateway);
        const template = await admin.request<{ datastreams?: DatastreamSpec[]; minSecurity?: number }>(
          'GET',
          `/api/templates/${encodeURIComponent(templateId)}`,
        );
        if (datastreams.length === 0) datastreams = template.datastreams ?? [];
        // Say it now rather than as N identical SECURITY_MISMATCH failures.
        if ((template.minSecurity ?? 2) > scenario.security) {
          throw new TetherError(
            'VALIDATION_FAILED',
            `Template ${templateId} requires security ${template.minSecurity} or more; the fleet offers ${scenario.security}. Use --security ${template.minSecurity}.`,
          );
        }
        if (userCount === 1) {
          const saved = await readSession();
          users = [{ email: saved?.email ?? 'you', gateway: admin }];
          if (saved) userSpecs = [{ email: saved.email, baseUrl, session: saved }];
        } else {
          const accounts = await inviteFleetUsers({
            admin,
            count: userCount,
            outboxDir: resolve(opts.outbox),
          });
          userSpecs = accounts.map((a) => ({ email: a.email, baseUrl, password: a.password }));
          for (const account of accounts) {
            const gateway = new GatewayClient({ baseUrl });
            await gateway.login(account.email, account.password);
            users.push({ email: account.email, gateway });
          }
          note(
            safe`Invited and logged in ${accounts.length} users: ${accounts.map((a) => a.email).join(', ')}`,
          );
        }
      }
      if (datastreams.length === 0) datastreams = [{ name: 'temp', type: 'double', min: -40, max: 125 }];

      // Random unless given, so fleets started together never share hardware ids; said so that a
      // run can be repeated.
      note(`Fleet seed ${scenario.seed}: --seed ${scenario.seed} repeats this run.`);
      const started = Date.now();
      const bar = new ProgressBar(count, opts.json === true);
      let results: FleetDeviceResult[];
      let provisioningMs: number;
      let source: { progress(): FleetProgress; finish(): void };
      const onSignal = () => source.finish();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (workers > 0) {
          const pool = new FleetPool({
            workers,
            // The bundled CLI is its own worker entry (scripts/tether.ts calls runFleetWorker first).
            workerUrl: new URL(import.meta.url),
            spec: {
              count,
              templateId,
              datastreams,
              scenario,
              users: opts.provision ? userSpecs : [],
              ...(opts.flashDir ? { flashDir: resolve(opts.flashDir) } : {}),
              logLevel: opts.logLevel,
            },
          });
          source = pool;
          bar.start(() => pool.progress());
          try {
            ({ results, provisioningMs } = await pool.run());
          } finally {
            await pool.stop();
          }
        } else {
          const runner = new FleetRunner({
            count,
            templateId,
            datastreams,
            scenario,
            users,
            ...(opts.flashDir ? { flashDir: resolve(opts.flashDir) } : {}),
            logger: fleetLogger(opts.logLevel).child({ module: 'fleet' }),
          });
          source = runner;
          bar.start(() => runner.progress());
          results = await runner.run();
          provisioningMs = runner.provisioningMs;
        }
      } finally {
        bar.halt();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const summary = summarize(results, {
        seed: scenario.seed,
        users: opts.provision ? users.length : 0,
        security: scenario.security,
        workers,
        provisioningMs,
        runMs: Date.now() - started,
      });
      // The last progress line is drawn from the summary itself, so the two never disagree.
      const failed = Object.values(summary.failed).reduce((a, b) => a + b, 0);
      bar.finish({
        ...(opts.provision ? { done: summary.activated + failed } : {}),
        activated: summary.activated,
        failed,
        online: summary.online,
        published: summary.messagesSent,
      });
      if (opts.json) printJson(opts.devices ? { summary, devices: results } : { summary });
      else printSummary(summary);
      if (opts.provision && summary.activated === 0) process.exitCode = 7;
    });
}

/**
 * Worker threads where they help (bench/README.md, "Fleets"): security 2 spends ≈ 20 ms of CPU per
 * activation in the fleet, so spreading it over the cores activated ≈ 40 % more per second on 2
 * cores; security 0/1 gained little and paid ≈ 60 MB per worker, so they stay in this thread.
 */
function autoWorkers(scenario: FleetScenario, count: number, provision: boolean): number {
  if (!provision || scenario.security !== 2 || count < 100) return 0;
  return Math.min(4, Math.max(1, availableParallelism()));
}

/** Longer than any run; the runner caps its timer at what setTimeout can hold. */
const FOREVER_SECONDS = 10 * 365 * 24 * 3600;

async function buildScenario(opts: SimFleetOptions): Promise<FleetScenario> {
  const base = opts.scenario ? await readScenarioFile(opts.scenario) : parseScenario({});
  const overrides: Record<string, unknown> = {};
  if (opts.seed !== undefined) overrides.seed = opts.seed.trim() === '' ? Number.NaN : Number(opts.seed);
  if (opts.security !== undefined) overrides.security = Number(opts.security);
  if (opts.transport !== undefined) overrides.transport = opts.transport;
  if (opts.concurrency !== undefined) overrides.concurrency = Number(opts.concurrency);
  // 'forever': until Ctrl-C, which ends the run and still prints the summary.
  if (opts.duration !== undefined)
    overrides.durationSeconds = opts.duration === 'forever' ? FOREVER_SECONDS : Number(opts.duration);
  return parseScenario({ ...base, ...overrides });
}

function printSummary(s: FleetSummary): void {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`);
  printTable(
    [
      { metric: 'seed', value: s.seed ?? '-' },
      { metric: 'devices', value: s.devices },
      { metric: 'users', value: s.users },
      { metric: 'security', value: s.security },
      { metric: 'worker threads', value: s.workers },
      { metric: 'activated', value: s.activated },
      { metric: 'failed', value: Object.values(s.failed).reduce((a, b) => a + b, 0) },
      { metric: 'activation p50', value: ms(s.latencyMs?.p50) },
      { metric: 'activation p95', value: ms(s.latencyMs?.p95) },
      { metric: 'activation p99', value: ms(s.latencyMs?.p99) },
      { metric: 'activations/s', value: s.activationsPerSecond },
      { metric: 'messages sent', value: s.messagesSent },
      { metric: 'reconnects', value: s.reconnects },
      { metric: 'resets (wiped)', value: s.resets },
      { metric: 'online at the end', value: s.online },
      { metric: 'run time', value: `${(s.runMs / 1000).toFixed(1)} s` },
    ],
    ['metric', 'value'],
  );
  const failures = Object.entries(s.failed).map(([code, devices]) => ({ 'failed with': code, devices }));
  if (failures.length > 0) {
    process.stdout.write('\n');
    printTable(failures, ['failed with', 'devices']);
  }
}

/** A one-line progress bar on stderr, redrawn in place on a terminal, a line every 5 s otherwise. */
class ProgressBar {
  #timer: NodeJS.Timeout | undefined;
  #read: (() => FleetProgress) | undefined;
  #started = 0;
  #lastLine = 0;
  readonly #tty = process.stderr.isTTY === true;

  constructor(
    private readonly total: number,
    private readonly quiet: boolean,
  ) {}

  start(read: () => FleetProgress): void {
    this.#read = read;
    this.#started = Date.now();
    if (this.quiet && !this.#tty) return;
    this.#timer = setInterval(() => this.#draw(read(), false), this.#tty ? 200 : 1_000);
  }

  /** Stop redrawing (the run is over, or failed). */
  halt(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The final line, with the summary's counts: the live counters are read while devices power
   * off, and a sample up to a second old would not match the table below it.
   */
  finish(
    final: Pick<FleetProgress, 'activated' | 'failed' | 'online' | 'published'> & { done?: number },
  ): void {
    this.halt();
    if (!this.#read || (this.quiet && !this.#tty)) return;
    this.#draw({ ...this.#read(), ...final }, true);
  }

  #draw(p: FleetProgress, final: boolean): void {
    const now = Date.now();
    if (!this.#tty && !final && now - this.#lastLine < 5_000) return;
    this.#lastLine = now;
    const width = 28;
    const filled = Math.round((p.done / Math.max(1, this.total)) * width);
    const seconds = (now - this.#started) / 1000;
    const line =
      `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${p.done}/${this.total}` +
      `  active ${p.activated}  failed ${p.failed}  online ${p.online}  msgs ${p.published}` +
      `  ${seconds.toFixed(0)} s`;
    process.stderr.write(this.#tty ? `\r\u001b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  }
}
