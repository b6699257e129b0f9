/**
 * The guard against the prototype-key class of issue 10: no key typed as an arbitrary string
 * indexes a plain object anywhere in the program's source (see test/support/own-key-scanner.ts for
 * the rule and the safe forms). It is checked against the get/meta crash as it was written.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { programFor, scanOwnKeys } from '../support/own-key-scanner.js';

const FIXTURES = [
  'test/guards/fixtures/prototype-keys-unsafe.ts',
  'test/guards/fixtures/prototype-keys-safe.ts',
];
const SOURCE = execFileSync(
  'git',
  ['ls-files', '--', 'gateway', 'provisioning', 'firmware-sim', 'scripts', 'shared'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f.endsWith('.ts'));

/** One program (type checking is the slow part) for the fixtures and the whole source. */
let program: ts.Program;
const scan = (files: string[]) => scanOwnKeys(program, new Set(files.map((f) => resolve(f))));

describe('own-key guard', () => {
  beforeAll(() => {
    program = programFor([...FIXTURES, ...SOURCE].map((f) => resolve(f)));
  }, 120_000);

  it('reports the get/meta crash of issue 10 and every other form of the class', () => {
    const findings = scan([FIXTURES[0]!]);
    expect(findings.map((f) => `${f.kind} ${f.text}`)).toEqual([
      'index device.meta?.[field]',
      'index device.values[name]',
      'in field in (device.meta ?? {})',
      'cast device[k as keyof Device]',
      'index counts[code]',
      'index counts[code]',
    ]);
  });

  it('accepts own-key reads, hasOwn guards, null-prototype objects, literal keys and marked lines', () => {
    expect(scan([FIXTURES[1]!])).toEqual([]);
  });

  it('finds no key from outside indexing a plain object in the source', () => {
    const findings = scan(SOURCE).map(
      (f) => `${f.file.replace(`${process.cwd()}/`, '')}:${f.line} ${f.text}`,
    );
    expect(
      findings,
      'read by ownValue/hasOwnKey (shared/own-keys.ts) or use a Map; mark a key that cannot come from outside with // own-key: <why>',
    ).toEqual([]);
  });
});
