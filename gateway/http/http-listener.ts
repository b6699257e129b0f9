/**
 * The HTTP API as a gateway part: start() listens, stop() closes. Closing also ends the
 * connections the server handed over to an upgrade handler (MQTT over WebSocket at /mqtt):
 * Node no longer tracks those as HTTP connections, and server.close() would wait for them.
 */
import type { Socket } from 'node:net';
import type { Part } from '../part.js';
import type { HttpApp } from './http-app.js';

export class HttpListener implements Part {
  readonly name = 'http';
  readonly #sockets = new Set<Socket>();
  #listening = false;

  constructor(
    readonly app: HttpApp,
    private readonly address: { port: number; host: string },
  ) {
    app.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get port(): number {
    const address = this.app.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async start(): Promise<void> {
    await this.app.listen(this.address);
    this.#listening = true;
  }

  async stop(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = this.app.close();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
