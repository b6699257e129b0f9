/** Printing for people (aligned tables, step lines) and for machines (--json). */
import { isTetherError, type TetherError, toTetherError } from '../../shared/errors.js';
import { ownValue } from '../../shared/own-keys.js';

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table; columns are the keys of the first row unless given. */
export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(ownValue(r, c)).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(cols.map((c) => cell(ownValue(row, c))))}\n`);
}

const tty = process.stderr.isTTY === true;
const mark = {
  ok: tty ? '\u001b[32m✔\u001b[0m' : 'ok',
  fail: tty ? '\u001b[31m✖\u001b[0m' : 'FAILED',
  run: '…',
};

/** One visible line per step of a long flow, on stderr so stdout stays machine-readable. */
export class StepReporter {
  #current: string | undefined;
  #startedAt = 0;

  constructor(private readonly quiet = false) {}

  start(label: string): void {
    this.#current = label;
    this.#startedAt = Date.now();
    if (!this.quiet && tty) process.stderr.write(`  ${mark.run} ${label}`);
  }

  succeed(detail?: string): void {
    this.#finish(mark.ok, detail);
  }

  fail(detail?: string): void {
    this.#finish(mark.fail, detail);
  }

  #finish(symbol: string, detail?: string): void {
    if (this.quiet || !this.#current) return;
    const ms = Date.now() - this.#startedAt;
    const text = `  ${symbol} ${this.#current}${detail ? ` — ${detail}` : ''} (${ms} ms)\n`;
    process.stderr.write(tty ? `\r\u001b[2K${text}` : text);
    this.#current = undefined;
  }
}

/** Print an error for a person (or as JSON) and return the exit code its code maps to. */
export function reportError(error: unknown, options: OutputOptions = {}): number {
  const tether: TetherError = toTetherError(error);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ error: tether.toJSON() })}\n`);
  } else {
    process.stderr.write(`error ${tether.code}: ${tether.message}\n`);
    if (!isTetherError(error) && process.env.TETHER_DEBUG)
      process.stderr.write(`${(error as Error)?.stack}\n`);
  }
  return tether.exitCode;
}
