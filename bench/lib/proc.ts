/**
 * Processes under test and their cost, read the same way for every broker (Node or native):
 * RSS and CPU seconds from /proc, so Tether, bare Aedes and Mosquitto are measured alike.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { OUT_DIR } from './paths.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux x86-64 (getconf CLK_TCK)

export function cpuSeconds(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks; the command name (2)
  // may hold spaces, so count from the closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU seconds of a process and its children (a PostgreSQL server and its backends): the live ones,
 * and those that ended (their time is added to the parent's cutime and cstime when it reaps them).
 */
export function treeCpuSeconds(rootPid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const own = Number(entry) === rootPid;
      if (!own && Number(fields[1]) !== rootPid) continue;
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      if (own) total += (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every process a scenario starts, so that a failure or Ctrl-C still stops them all. */
const children = new Set<ChildProcess>();
export function killAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

let logSeq = 0;
const logFile = (name: string) => join(OUT_DIR, 'logs', `${Date.now()}-${++logSeq}-${name}.log`);

/** A forked Node process that answers requests over IPC: `{ id, cmd, ...args }` → `{ id, ok, result|error }`. */
export class Worker {
  readonly child: ChildProcess;
  readonly log: string;
  #seq = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners: Array<(message: Record<string, unknown>) => void> = [];
  readonly exited: Promise<number | null>;
  /** Resolves when the child says `{ ready: true }` (after its set-up), rejects if it dies first. */
  readonly ready: Promise<void>;

  constructor(
    readonly script: string,
    options: { args?: string[]; env?: NodeJS.ProcessEnv; execArgv?: string[]; cwd?: string; name: string },
  ) {
    this.log = logFile(options.name);
    const out = createWriteStream(this.log);
    this.child = fork(script, options.args ?? [], {
      env: options.env ?? process.env,
      execArgv: options.execArgv ?? [],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    children.add(this.child);
    this.child.stdout?.pipe(out);
    this.child.stderr?.pipe(out);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        children.delete(this.child);
        for (const p of this.#pending.values())
          p.reject(new Error(`${options.name} exited (${code}); see ${this.log}`));
        this.#pending.clear();
        resolve(code);
      }),
    );
    let onReady: () => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      this.exited.then((code) =>
        reject(new Error(`${options.name} exited (${code}) before ready; see ${this.log}`)),
      );
    });
    this.ready.catch(() => {});
    this.child.on('message', (message: Record<string, unknown>) => {
      if (message.ready) return onReady();
      const id = message.id as number | undefined;
      const pending = id === undefined ? undefined : this.#pending.get(id);
      if (pending && id !== undefined) {
        this.#pending.delete(id);
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new Error(String(message.error)));
        return;
      }
      for (const listener of this.#listeners) listener(message);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  onMessage(listener: (message: Record<string, unknown>) => void): void {
    this.#listeners.push(listener);
  }

  /** Ask politely (so --cpu-prof can write its profile), then insist. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.send({ id: 0, cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child side of Worker: register handlers by command name. */
export function serveIpc(handlers: Record<string, (args: Record<string, unknown>) => unknown>): void {
  process.on('message', async (message: Record<string, unknown>) => {
    const { id, cmd } = message as { id: number; cmd: string };
    if (cmd === 'exit') {
      try {
        await handlers.exit?.(message);
      } finally {
        process.exit(0);
      }
    }
    const handler = handlers[cmd];
    try {
      if (!handler) throw new Error(`unknown command ${cmd}`);
      const result = await handler(message);
      process.send?.({ id, ok: true, result });
    } catch (error) {
      process.send?.({ id, ok: false, error: (error as Error).stack ?? String(error) });
    }
  });
}

/** A native process (Mosquitto) with its output in a log file. */
export function spawnLogged(
  command: string,
  args: string[],
  name: string,
): { child: ChildProcess; log: string } {
  const log = logFile(name);
  const out = createWriteStream(log);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { child, log };
}

/** process.memoryUsage() and the V8 heap's spaces (used bytes), for the brokers' `memory` call. */
export function memoryBreakdown(): Record<string, number> {
  const usage = process.memoryUsage();
  const out: Record<string, number> = {
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
  };
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_size === 0) continue;
    out[`${space.space_name} used`] = space.space_used_size;
    out[`${space.space_name} committed`] = space.space_size;
  }
  const heap = getHeapStatistics();
  out.mallocedMemory = heap.malloced_memory;
  out.heapPhysical = heap.total_physical_size;
  return out;
}
