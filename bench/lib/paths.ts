/** Where the bench finds its bundles and writes its scratch files (bench/out is git-ignored). */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundles live in bench/out/, next to this module once bundled. */
export const OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)));
export const BENCH_DIR = resolve(OUT_DIR, '..');
export const REPO_DIR = resolve(BENCH_DIR, '..');
export const bundle = (name: string): string => join(OUT_DIR, `${name}.js`);
