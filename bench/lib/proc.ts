/**
 * Processes under test and their cost, read the same way for every broker (Node or native):
 * RSS and CPU seconds from /proc, so Tether, bare Aedes and Mosquitto are measured alike.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
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
const logFile = (name: string) => {
  mkdirSync(join(OUT_DIR, 'logs'), { recursive: true });
  return join(OUT_DIR, 'logs', `${Date.now()}-${++logSeq}-${name}.log`);
};

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

/**
 * V8's sampling heap profiler over a window, counting also the objects that died in it (what a
 * scenario allocates, not only what it keeps): `allocStart`, then `allocStop` writes a
 * .heapprofile (open it in Chrome DevTools' Memory tab) and returns the bytes sampled per function.
 */
function allocationSampling(): Record<string, (args: Record<string, unknown>) => unknown> {
  let session: Session | undefined;
  return {
    allocStart: async () => {
      session = new Session();
      session.connect();
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return true;
    },
    allocStop: async (args) => {
      if (!session) throw new Error('allocStart first');
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
        profile: { head: AllocationNode };
      };
      session.disconnect();
      session = undefined;
      writeFileSync(String(args.file), JSON.stringify(profile));
      const byFunction = new Map<string, number>();
      const walk = (node: AllocationNode) => {
        const { functionName, url, lineNumber } = node.callFrame;
        const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/)?/, '')}:${lineNumber + 1}`;
        byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
        for (const child of node.children) walk(child);
      };
      walk(profile.head);
      return [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top ?? 40));
    },
  };
}
interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

/** The child side of Worker: register handlers by command name. */
export function serveIpc(own: Record<string, (args: Record<string, unknown>) => unknown>): void {
  const handlers = { ...allocationSampling(), ...own };
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
  // The kernel's split of RSS: anonymous pages (V8's heap, malloc's arenas, stacks) and file pages
  // (the node binary, shared libraries), as /proc/self/status reports them (Linux only).
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    for (const [field, key] of [
      ['RssAnon', 'rssAnon'],
      ['RssFile', 'rssFile'],
    ] as const) {
      const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
      if (match) out[key] = Number(match[1]) * 1024;
    }
  } catch {}
  return { ...out, ...residentMap() };
}

/**
 * Where a process's resident pages are, from /proc/PID/smaps (Linux): the node binary's pages,
 * other files (shared libraries, ICU data), malloc's main arena ([heap]), the threads' malloc
 * arenas (anonymous mappings aligned to glibc's 64 MB arena size, with their reserved tail), and
 * the other anonymous pages (V8's heap, stacks, large malloc blocks). Bytes; a rough map to read
 * beside V8's own figures, not a measurement of one allocator.
 */
export function residentMap(pid: number | 'self' = 'self'): Record<string, number> {
  const out: Record<string, number> = {
    'resident: node binary': 0,
    'resident: other files': 0,
    'resident: malloc main arena': 0,
    'resident: malloc thread arenas': 0,
    'resident: other anonymous': 0,
  };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return {};
  }
  const ARENA = 64 * 2 ** 20;
  type Mapping = { start: number; end: number; perms: string; path: string; rss: number };
  const maps: Mapping[] = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      maps.push({
        start: Number.parseInt(head[1]!, 16),
        end: Number.parseInt(head[2]!, 16),
        perms: head[3]!,
        path: head[4]!,
        rss: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && maps.length) maps[maps.length - 1]!.rss = Number(rss[1]) * 1024;
  }
  const exe = (() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    } catch {
      return '';
    }
  })();
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.path === '[heap]') out['resident: malloc main arena']! += m.rss;
    else if (m.path.startsWith('/') && (m.path === exe || m.path.endsWith('/node')))
      out['resident: node binary']! += m.rss;
    else if (m.path.startsWith('/')) out['resident: other files']! += m.rss;
    else if (m.path === '' && m.start % ARENA === 0 && m.perms.startsWith('rw')) {
      const tail = maps[i + 1];
      const isArena =
        m.end - m.start === ARENA ||
        (tail?.start === m.end && tail.perms.startsWith('---') && tail.end - m.start === ARENA);
      out[isArena ? 'resident: malloc thread arenas' : 'resident: other anonymous']! += m.rss;
    } else out['resident: other anonymous']! += m.rss;
  }
  return out;
}
