// Bundles the `tether` command into dist/ with esbuild, then the web console into dist/console.
// npm packages stay external but for the few that scripts/external-packages.mjs bundles.
import { chmod } from 'node:fs/promises';
import { build } from 'esbuild';
import { buildConsole } from '../console/build.mjs';
import { externalPackages } from './external-packages.mjs';

const started = Date.now();
await build({
  entryPoints: { tether: 'scripts/tether.ts' },
  outdir: 'dist',
  // Modules a configuration may never need (the cluster's Redis, PostgreSQL, mail) are imported
  // dynamically; splitting keeps them, and the packages they load, out of memory until then.
  splitting: true,
  // Beside the entry points: code that finds files from its own import.meta.url stays right.
  chunkNames: '[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [externalPackages],
  sourcemap: 'linked',
  logLevel: 'warning',
});
await chmod('dist/tether.js', 0o755);
if (!process.argv.includes('--quiet'))
  process.stderr.write(`built dist/tether.js in ${Date.now() - started} ms\n`);
// The web console the gateway serves at / (dist/console).
await buildConsole({ quiet: process.argv.includes('--quiet') });
