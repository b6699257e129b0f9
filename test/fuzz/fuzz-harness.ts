/**
 * One harness for every property-based fuzz suite. Under `npm test` each property runs a fixed,
 * small number of cases; `npm run fuzz` (scripts/fuzz.mjs) gives each suite a time budget through
 * TETHER_FUZZ_MS_PER_SUITE and collects how many cases each property tried (TETHER_FUZZ_REPORT).
 * A failure prints fast-check's report: the seed and the shrunk counterexample; replay it with
 * TETHER_FUZZ_SEED=<seed> (and TETHER_FUZZ_PATH=<path>).
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { type Logger, pino } from 'pino';

export { fc };

const env = process.env;
const perSuiteMs = Number(env.TETHER_FUZZ_MS_PER_SUITE ?? 0);

/** Whether this run is the long campaign of `npm run fuzz`. */
export const campaign = perSuiteMs > 0;

export interface FuzzSuite {
  /** A test timeout that fits this suite's share of the campaign (or `normalMs` under npm test). */
  timeout(normalMs: number): number;
  /** Check one property: `cases` runs under npm test, its share of the time budget in a campaign. */
  check<Ts extends [unknown, ...unknown[]]>(
    name: string,
    property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
    cases: number,
  ): Promise<void>;
}

/**
 * The fuzz suite of one input surface with `properties` properties: in a campaign each gets an
 * equal share of the suite's budget.
 */
export function fuzzSuite(surface: string, properties: number): FuzzSuite {
  const shareMs = campaign ? Math.max(1_000, Math.floor(perSuiteMs / properties)) : 0;
  return {
    timeout: (normalMs) => (campaign ? shareMs + 60_000 : normalMs),
    async check(name, property, cases) {
      const seed = env.TETHER_FUZZ_SEED === undefined ? undefined : Number(env.TETHER_FUZZ_SEED);
      const parameters: fc.Parameters<unknown> = campaign
        ? {
            numRuns: Number.MAX_SAFE_INTEGER,
            interruptAfterTimeLimit: shareMs,
            markInterruptAsFailure: false,
          }
        : { numRuns: cases };
      if (seed !== undefined) parameters.seed = seed;
      if (env.TETHER_FUZZ_PATH) parameters.path = env.TETHER_FUZZ_PATH;
      const details = await fc.check(property as fc.IAsyncProperty<unknown[]>, parameters);
      if (env.TETHER_FUZZ_REPORT) {
        const line = { surface, property: name, cases: details.numRuns, failed: details.failed };
        appendFileSync(env.TETHER_FUZZ_REPORT, `${JSON.stringify(line)}\n`);
      }
      if (details.failed) {
        const why =
          details.errorInstance instanceof Error
            ? details.errorInstance.message
            : String(details.errorInstance);
        throw new Error(`${surface} / ${name}: ${why}\n${fc.defaultReportMessage(details)}`, {
          cause: details.errorInstance,
        });
      }
    },
  };
}

/** Keys every plain object inherits, and the ones that change a prototype: the class of issue 10. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
] as const;

/** Strings outsiders send: prototype keys, empty, NUL, control and unicode, long, and plain ones. */
export const hostileString = (maxLength = 80): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '\0',
        'a\0b',
        '\u202e',
        '\uFEFF',
        '\uD800',
        '%',
        '%zz',
        '..',
        '/',
        '+',
        '#',
        '\r\n',
      ),
    },
    { weight: 2, arbitrary: fc.string({ maxLength, unit: 'grapheme' }) },
    { weight: 2, arbitrary: fc.string({ maxLength, unit: 'binary' }) },
    {
      weight: 1,
      arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.repeat(Math.ceil(4000 / s.length))),
    },
  );

/** JSON values with hostile keys and strings, nested. */
export const hostileJson = (): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2),
      hostileString(40),
      fc.array(tie('value'), { maxLength: 4 }),
      fc
        .array(fc.tuple(hostileString(20), tie('value')), { maxLength: 4 })
        .map((entries) => Object.fromEntries(entries)),
    ),
  })).value;

/** Errors that escape every handler of this process while a property runs. */
export function watchEscapes(): { take(): unknown[]; stop(): void } {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    take: () => escaped.splice(0),
    stop: () => {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}

/**
 * A logger for the gateway under fuzz that keeps what it logs at error level or above: an
 * unexpected failure, even one a handler caught, is a finding.
 */
export function errorLog(): { logger: Logger; take(): Array<Record<string, unknown>> } {
  const errors: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'error' },
    {
      write: (line: string) => {
        errors.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, take: () => errors.splice(0) };
}

/** encodeURIComponent for any string: a lone surrogate (which it refuses) becomes U+FFFD first. */
export const uriEncode = (value: string): string =>
  encodeURIComponent(
    value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );
