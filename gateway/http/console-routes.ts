/**
 * Serves the web console's built files (console/ → dist/console, made by `npm run build`): its
 * index.html at every console page, its hashed scripts and styles under /assets, all with a strict
 * Content-Security-Policy and the other headers a browser needs to keep the page to itself. The
 * console speaks to the gateway only through the HTTP API on this same origin.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_ASSETS_PATH, CONSOLE_PAGES } from '../../shared/console-pages.js';

/**
 * No inline script or style, nothing from another origin, never framed (clickjacking), no plugins,
 * no <base> rewriting. Images may be data:/blob: URLs (QR codes drawn in the page).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every console response. */
export function consoleSecurityHeaders(secure: boolean): Record<string, string> {
  return {
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Mailed tokens live in the URL fragment, which is never sent; no-referrer keeps the path too.
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    // Camera (claim-code QR) and Bluetooth (provisioning) for this page only; nothing else.
    'permissions-policy': 'camera=(self), bluetooth=(self), microphone=(), geolocation=(), payment=()',
    ...(secure ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8', // the bundles' licence notices (legalComments: linked)
};

interface BuiltConsole {
  index: Buffer;
  assets: Map<string, { body: Buffer; type: string }>;
}

/** dist/console beside the bundled CLI (dist/tether.js), or the repository's dist/console from source. */
export function defaultConsoleDir(): string | undefined {
  for (const candidate of ['./console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

async function loadConsole(dir: string): Promise<BuiltConsole | undefined> {
  let index: Buffer;
  try {
    index = await readFile(join(dir, 'index.html'));
  } catch {
    return undefined;
  }
  const assets = new Map<string, { body: Buffer; type: string }>();
  const assetDir = join(dir, 'assets');
  for (const name of existsSync(assetDir) ? await readdir(assetDir) : []) {
    const type = TYPES[extname(name)]; // own-key: names of our own built files
    if (type) assets.set(name, { body: await readFile(join(assetDir, name)), type });
  }
  return { index, assets };
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Tether</title>
<h1>The web console is not built</h1>
<p>Run <code>npm run build</code> (or <code>npm start</code>) in the Tether folder, then reload this page.
The HTTP API under <code>/api</code> works without it.</p></html>`;

export const consoleRoutes: FastifyPluginAsyncTypebox<{ consoleDir?: string | undefined }> = async (
  app,
  { consoleDir },
) => {
  // Read once, on the first request that needs it: a console built after start is still found.
  let built: Promise<BuiltConsole | undefined> | undefined;
  const current = async () => {
    const dir = consoleDir ?? defaultConsoleDir();
    if (!dir) return undefined;
    built ??= loadConsole(dir);
    const result = await built;
    if (!result) built = undefined;
    return result;
  };
  const secure = (request: FastifyRequest) => request.protocol === 'https';

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const files = await current();
    reply.headers(consoleSecurityHeaders(secure(request)));
    reply.header('cache-control', 'no-cache');
    if (!files) return reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.type('text/html; charset=utf-8').send(files.index);
  };
  for (const path of new Set(Object.values(CONSOLE_PAGES))) app.get(path, page);

  app.get(
    `${CONSOLE_ASSETS_PATH}/:file`,
    { schema: { params: Type.Object({ file: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }) }) } },
    async (request, reply) => {
      const asset = (await current())?.assets.get(request.params.file);
      reply.headers(consoleSecurityHeaders(secure(request)));
      if (!asset) {
        return reply
          .status(404)
          .send({ error: { code: 'NOT_FOUND', message: `No console file ${request.params.file}.` } });
      }
      // Names carry a content hash: a new build is a new name, so browsers may keep these for good.
      reply.header('cache-control', 'public, max-age=31536000, immutable');
      return reply.type(asset.type).send(asset.body);
    },
  );
};
