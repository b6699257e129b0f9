// Bundles the bench's entry points into bench/out/ (git-ignored): the runner, the two Node brokers
// and the load generators. npm packages stay external as in scripts/build.mjs (external-packages.mjs).
import { build } from 'esbuild';
import { externalPackages } from '../scripts/external-packages.mjs';

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
    'push-reader': 'bench/load/push-reader.ts',
    'activation-gateway': 'bench/activation-gateway.ts',
    'store-journal': 'bench/store-journal.ts',
    'store-postgres': 'bench/store-postgres.ts',
    'cluster-events': 'bench/cluster-events.ts',
    memory: 'bench/memory.ts',
  },
  outdir: 'bench/out',
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
