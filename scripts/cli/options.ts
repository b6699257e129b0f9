/**
 * Errors in the words of the command line. The gateway names its API fields (`moveUsersTo`,
 * `parentId`); a person typed options (`--move-to`, `--parent`). Each command says which option
 * carries which field, and an error from the gateway is reworded to name the option.
 */
import { isTetherError, TetherError } from '../../shared/errors.js';

/** API field → the option that sets it, e.g. `{ moveUsersTo: '--move-to' }`. */
export type FieldOptions = Readonly<Record<string, string>>;

interface Problem {
  field: string;
  rule: string;
}

const isProblems = (value: unknown): value is Problem[] =>
  Array.isArray(value) &&
  value.every(
    (p) => typeof p === 'object' && p !== null && typeof p.field === 'string' && typeof p.rule === 'string',
  );

/** The error with each API field it names replaced by the command's option. */
export function inOptionTerms(error: unknown, fields: FieldOptions): unknown {
  if (!isTetherError(error)) return error;
  const name = (field: string) => (Object.hasOwn(fields, field) ? fields[field]! : field);
  const problems = error.details?.problems;
  let message = error.message;
  if (isProblems(problems) && problems.length > 0) {
    message = `${problems.map((p) => (p.field ? `${name(p.field)} ${p.rule}` : p.rule)).join('; ')}.`;
  } else {
    // A plain field name is replaced only when the error is about that field (so "password" in
    // "the current password is wrong" stays a word); a phrase such as `force=true` wherever it
    // stands. Longest first, each only where it stands alone (not inside another word or option).
    const about = error.details?.field;
    const replaceable = Object.keys(fields).filter((f) => f === about || !/^[A-Za-z.]+$/.test(f));
    for (const field of replaceable.sort((a, b) => b.length - a.length)) {
      const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      message = message.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), name(field));
    }
  }
  if (message === error.message) return error;
  return new TetherError(error.code, message, {
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}

/** Runs a gateway call; an error it ends with names the command's options, not API fields. */
export async function withOptions<T>(fields: FieldOptions, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw inOptionTerms(error, fields);
  }
}

/** An option that takes one of a few words, checked before anything is sent. */
export function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new TetherError(
    'VALIDATION_FAILED',
    `${option} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)}).`,
    { details: { option } },
  );
}

/** A whole number option within bounds. */
export function wholeNumber(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `${option} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}).`,
      { details: { option } },
    );
  }
  return n;
}
