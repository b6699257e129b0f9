/**
 * SoftAP transport, device side: the HTTP server on the device's hotspot address. Session rules
 * follow esp-idf protocomm_httpd.c: one session at a time; a request carrying the current
 * "session=<id>" cookie, or arriving on the current session's socket without a cookie, continues
 * it; anything else closes the old security session and starts a new one, whose id goes out in
 * Set-Cookie. Bodies are bounded (esp-idf: 4096 bytes); bad input is answered, never thrown.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isTetherError } from '../../shared/errors.js';
import { type Logger, silentLogger } from '../../shared/logger.js';
import type { EndpointHandler } from './transport.js';

export interface SoftApHttpServerOptions {
  handler: EndpointHandler;
  /** Default 127.0.0.1 (a simulated device); a real SoftAP serves 192.168.4.1. */
  host?: string;
  /** Default 80; 0 picks a free port (see `address` after start()). */
  port?: number;
  /** Default 4096, as protocomm_httpd's MAX_REQ_BODY_LEN. */
  maxBodyBytes?: number;
  logger?: Logger;
}

interface CurrentSession {
  id: string;
  socket: Socket | undefined;
}

export class SoftApHttpServer {
  readonly #options: SoftApHttpServerOptions;
  readonly #log: Logger;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #session: CurrentSession | undefined;
  #address: { host: string; port: number } | undefined;

  constructor(options: SoftApHttpServerOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ module: 'softap-http-server' });
  }

  /** Where the server listens, once started. */
  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error('SoftApHttpServer is not started');
    return this.#address;
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.#server) return this.address;
    const server = createServer((req, res) => {
      this.#onRequest(req, res).catch((error: unknown) => {
        this.#log.error({ err: error }, 'request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        // protocomm_httpd: a closed socket only forgets the socket; the cookie session lives on.
        if (this.#session?.socket === socket) this.#session.socket = undefined;
      });
    });
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 80, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const bound = server.address();
    this.#address = {
      host,
      port: typeof bound === 'object' && bound ? bound.port : (this.#options.port ?? 80),
    };
    this.#log.info(this.#address, 'SoftAP provisioning server listening');
    return this.#address;
  }

  /** Close the listener and every connection; forget the session. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
    if (this.#session) this.#options.handler.closeSession(this.#session.id);
    this.#session = undefined;
    this.#address = undefined;
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => res.destroy());
    const endpoint = (req.url ?? '/').split('?')[0]!.slice(1);
    if (req.method !== 'POST') return this.#reply(res, 405);
    if (!this.#options.handler.endpoints.includes(endpoint)) return this.#reply(res, 404);

    const { id, isNew } = this.#sessionFor(req);
    const body = await this.#readBody(req);
    if (body === 'too-large') return this.#reply(res, 413, undefined, true);
    if (body.length === 0) return this.#reply(res, 400);

    let answer: Uint8Array;
    try {
      answer = await this.#options.handler.handle(endpoint, body, id);
    } catch (error) {
      const status = isTetherError(error) ? error.httpStatus : 500;
      this.#log.debug(
        { endpoint, status, code: isTetherError(error) ? error.code : undefined },
        'request refused',
      );
      return this.#reply(res, status >= 500 && status !== 500 ? 500 : status);
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/plain',
      'Content-Length': answer.length,
    };
    if (isNew) headers['Set-Cookie'] = `session=${id}`;
    res.writeHead(200, headers).end(answer);
  }

  #sessionFor(req: IncomingMessage): { id: string; isNew: boolean } {
    const current = this.#session;
    const cookie = req.headers.cookie;
    const sameSession = current
      ? cookie !== undefined
        ? cookie.split(';').some((part) => part.trim() === `session=${current.id}`)
        : current.socket === req.socket
      : false;
    if (current && sameSession) {
      if (cookie !== undefined) current.socket = undefined;
      return { id: current.id, isNew: false };
    }
    if (current) this.#options.handler.closeSession(current.id);
    // protocomm_httpd: a random uint32 names the session.
    const id = String(randomBytes(4).readUInt32BE(0));
    this.#session = { id, socket: req.socket };
    return { id, isNew: true };
  }

  #readBody(req: IncomingMessage): Promise<Uint8Array | 'too-large'> {
    const max = this.#options.maxBodyBytes ?? 4096;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return Promise.resolve('too-large');
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          resolve('too-large');
          req.removeAllListeners('data');
          req.resume();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
      req.on('error', () => resolve(new Uint8Array(0)));
    });
  }

  #reply(res: ServerResponse, status: number, body?: string, close = false): void {
    const headers: Record<string, string | number> = { 'Content-Length': body ? Buffer.byteLength(body) : 0 };
    if (close) headers.Connection = 'close';
    res.writeHead(status, headers).end(body);
  }
}
