// The esbuild plugin every Node bundle of Tether uses: npm packages stay external (installed by
// npm, loaded from node_modules: pino's transports and CJS packages that require Node built-ins
// break when bundled), except the few listed here, which are pure ES modules and cost more as
// files than as bundled code.
// - typebox: 683 small modules once loaded. Each one keeps V8's module records, its source and
//   its scope data for the life of the process: bundled, the gateway's live heap is 3.4 MB smaller,
//   idle and with 10,000 devices connected (bench/RESULTS.md, "S3 memory").
// - @fastify/type-provider-typebox: it imports typebox, and would load the 683 files again.
export const BUNDLED_PACKAGES = ['typebox', '@fastify/type-provider-typebox'];

const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

export const externalPackages = {
  name: 'external-packages',
  setup(build) {
    // A bare specifier (a package or node:…), not a relative or absolute path.
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED_PACKAGES.includes(packageOf(args.path)) ? undefined : { path: args.path, external: true },
    );
  },
};
