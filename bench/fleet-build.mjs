// Bundles the fleet benches into bench/out/ (git-ignored), as bench/build.mjs does for the broker
// harness; they run the bundled CLI (dist/tether.js) as gateway and as fleet worker entry.
import { build } from 'esbuild';
import { externalPackages } from '../scripts/external-packages.mjs';

await build({
  entryPoints: { 'fleet-activation': 'bench/fleet-activation.ts', 'fleet-idle': 'bench/fleet-idle.ts' },
  outdir: 'bench/out',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [externalPackages],
  sourcemap: 'linked',
  logLevel: 'warning',
});
