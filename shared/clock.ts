/**
 * An injectable clock. Everything that reads the time or waits goes through a Clock, so tests can
 * move time forward instead of sleeping.
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Resolves after ms of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock, with Node's timers (unref'd is the caller's choice, not ours). */
export class SystemClock implements Clock {
  #next = 1;
  readonly #timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        fn();
      }, ms),
    );
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const timer = this.#timers.get(handle.id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(handle.id);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, setInterval(fn, ms));
    return { id };
  }

  clearInterval(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const timer = this.#timers.get(handle.id);
    if (timer) clearInterval(timer);
    this.#timers.delete(handle.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers still pending: tests assert this is zero after stop(). */
  get pendingTimers(): number {
    return this.#timers.size;
  }
}

interface ManualTimer {
  id: number;
  due: number;
  fn: () => void;
  every: number | undefined;
}

/** A clock that only moves when told to. Timers fire in due order during advance(). */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, ManualTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), fn, every: undefined });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.#timers.delete(handle.id);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    const every = Math.max(1, ms);
    this.#timers.set(id, { id, due: this.#now + every, fn, every });
    return { id };
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Move time forward by ms, firing every timer that falls due, in order, letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = [...this.#timers.values()]
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.#now = next.due;
      if (next.every === undefined) this.#timers.delete(next.id);
      else next.due += next.every;
      next.fn();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
