// Builds the web console into dist/console: one hashed script and stylesheet under assets/ and an
// index.html that loads them (no inline script or style: the gateway's CSP allows neither).
// Everything is bundled from node_modules; nothing is fetched at run time.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Modules with a browser twin: the shared protocol code picks its default crypto provider from
 * default-crypto.ts (node:crypto); in the browser that is default-crypto.browser.ts (WebCrypto).
 */
const browserTwins = {
  name: 'browser-twins',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/default-crypto\.js$/ }, (args) => ({
      path: join(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts')),
    }));
  },
};

/** How browser code is bundled: the console, and tests that run its protocol code as the page does. */
export function consoleBuildOptions() {
  return {
    plugins: [browserTwins],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome111', 'edge111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    tsconfig: join(root, 'console', 'tsconfig.json'),
    logLevel: 'warning',
  };
}

export async function buildConsole({ outDir = join(root, 'dist', 'console'), quiet = false } = {}) {
  const started = Date.now();
  await rm(outDir, { recursive: true, force: true });
  const assets = join(outDir, 'assets');
  await mkdir(assets, { recursive: true });
  const result = await build({
    ...consoleBuildOptions(),
    entryPoints: { app: join(root, 'console', 'src', 'main.tsx') },
    outdir: assets,
    entryNames: '[name]-[hash]',
    // Pages load what only they need (Add a device: the provisioning protocol) as a chunk of its own.
    splitting: true,
    chunkNames: 'chunk-[hash]',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((f) => /^app-.*\.js$/.test(f));
  const style = outputs.find((f) => /^app-.*\.css$/.test(f));
  if (!script || !style) throw new Error(`console build produced ${outputs.join(', ')}`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Tether</title>
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Tether console needs JavaScript. The HTTP API and the tether command line work without it.</noscript>
</body>
</html>
`;
  await writeFile(join(outDir, 'index.html'), html);
  if (!quiet) process.stderr.write(`built dist/console in ${Date.now() - started} ms\n`);
  return { outDir, script, style };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildConsole({ quiet: process.argv.includes('--quiet') });
}
