// Bundles the bench's entry points into bench/out/ (git-ignored): the runner, the two Node brokers
// and the load generators. Dependencies stay external, as in scripts/build.mjs.
import { build } from 'esbuild';

await build({
  entryPoints: {
    run: 'bench/run.ts',
    'tether-server': 'bench/servers/tether-server.ts',
    'aedes-server': 'bench/servers/aedes-server.ts',
    publisher: 'bench/load/publisher.ts',
    subscriber: 'bench/load/subscriber.ts',
    connector: 'bench/load/connector.ts',
    'downlink-receivers': 'bench/load/downlink-receivers.ts',
    'downlink-driver': 'bench/load/downlink-driver.ts',
    activator: 'bench/load/activator.ts',
    'store-journal': 'bench/store-journal.ts',
  },
  outdir: 'bench/out',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
