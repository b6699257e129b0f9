/**
 * Printing for people (aligned tables, step lines) and for machines (--json). Everything the CLI
 * prints that came from outside — names, values, addresses, messages from the gateway or a device
 * — goes through terminalSafe() first (directly, through printTable/printJson, or through the
 * `safe` template tag): a device or template name must not be able to move the cursor, recolour
 * the terminal, rewrite the title, or reorder what a person reads.
 */

import { TABLES } from '../../gateway/store/tables.js';
import { isTetherError, type TetherError, toTetherError } from '../../shared/errors.js';
import { ownValue } from '../../shared/own-keys.js';

export interface OutputOptions {
  json?: boolean;
}

/**
 * C0 controls (ESC starts every ANSI sequence), DEL, C1 controls (0x9b is a one-byte CSI on some
 * terminals), bidi marks, embeddings, overrides and isolates (text that reads in another order
 * than it is), and the Unicode line and paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
/** What JSON.stringify leaves raw inside strings (it escapes C0 itself; its own line breaks stay). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;

/** Text from outside, with every unsafe character shown as a visible `\u001b`-style escape. */
export function terminalSafe(value: unknown): string {
  return String(value).replace(UNSAFE, escapeChar);
}

/** A template tag: the literal parts are ours, every interpolated value is terminalSafe'd. */
export function safe(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += terminalSafe(values[i]) + (strings[i + 1] ?? '');
  return out;
}

/** One line for a person, on stdout. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** One line on stderr: notes and warnings beside stdout's data. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * JSON for scripts (indent 0: one line). JSON.stringify escapes C0 controls already; DEL, C1
 * controls and bidi marks are escaped too, so `--json` output is as safe in a terminal and parses
 * to the same data.
 */
export function printJson(value: unknown, indent = 2): void {
  process.stdout.write(`${JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, escapeChar)}\n`);
}

/** A plain aligned table; columns are the keys of the first row unless given. */
export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    terminalSafe(v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
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
    if (!this.quiet && tty) process.stderr.write(`  ${mark.run} ${terminalSafe(label)}`);
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
    const text = `  ${symbol} ${terminalSafe(this.#current)}${detail ? ` — ${terminalSafe(detail)}` : ''} (${ms} ms)\n`;
    process.stderr.write(tty ? `\r\u001b[2K${text}` : text);
    this.#current = undefined;
  }
}

/**
 * A reader that stops early (`tether org list | head -2`) closes the pipe: the command ends quietly
 * and successfully, as Unix tools do, instead of dying on an unhandled EPIPE with a stack trace.
 */
let pipesWatched = false;

export function quietOnClosedPipes(): void {
  if (pipesWatched) return;
  pipesWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** Print an error for a person (or as JSON) and return the exit code its code maps to. */
export function reportError(error: unknown, options: OutputOptions = {}): number {
  const tether: TetherError = toTetherError(error);
  if (options.json) {
    printJson({ error: tether.toJSON() }, 0);
  } else {
    // A message may quote what someone typed or a device sent; its own line breaks stay.
    const message = tether.message.split('\n').map(terminalSafe).join('\n');
    process.stderr.write(`error ${tether.code}: ${message}\n`);
    if (!isTetherError(error) && process.env.TETHER_DEBUG)
      process.stderr.write(`${terminalSafe((error as Error)?.stack)}\n`);
  }
  return tether.exitCode;
}

/** "1 device", "3 devices": a count and what it counts, for a person to read. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** A store copy's rows per table, as a person reads them: "1 organization, 3 devices" (empty tables left out). */
export function tableCounts(tables: Readonly<Record<string, number>>): string {
  return TABLES.flatMap((table) => {
    const n = ownValue(tables, table.name) ?? 0;
    return n > 0 ? [countOf(n, table.label)] : [];
  }).join(', ');
}
