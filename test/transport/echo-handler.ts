import type { EndpointHandler } from '../../provisioning/transport/transport.js';

/**
 * A device-side handler for transport tests: answers `<endpoint>|` followed by the request
 * reversed, so a test sees that the right endpoint got the right bytes. `fail` always throws,
 * `hang` never answers (until released), `big` answers with `size` bytes given as a decimal request.
 */
export class EchoHandler implements EndpointHandler {
  readonly endpoints = [
    'proto-ver',
    'prov-session',
    'prov-config',
    'custom-data',
    'fail',
    'hang',
    'big',
  ] as const;
  readonly requests: { endpoint: string; request: Uint8Array; sessionId: string }[] = [];
  readonly closedSessions: string[] = [];
  #release: (() => void)[] = [];

  async handle(endpoint: string, request: Uint8Array, sessionId: string): Promise<Uint8Array> {
    this.requests.push({ endpoint, request: Uint8Array.from(request), sessionId });
    if (endpoint === 'fail') throw new Error('this endpoint always fails');
    if (endpoint === 'hang') {
      await new Promise<void>((resolve) => this.#release.push(resolve));
      return new Uint8Array(0);
    }
    if (endpoint === 'big') {
      const size = Number(new TextDecoder().decode(request));
      return Uint8Array.from({ length: size }, (_, i) => i % 251);
    }
    const prefix = new TextEncoder().encode(`${endpoint}|`);
    return Uint8Array.from([...prefix, ...Uint8Array.from(request).reverse()]);
  }

  closeSession(sessionId: string): void {
    this.closedSessions.push(sessionId);
  }

  /** Let every hanging request finish (so nothing is left pending after a test). */
  releaseAll(): void {
    for (const r of this.#release.splice(0)) r();
  }
}

export const expectedEcho = (endpoint: string, request: Uint8Array): Uint8Array =>
  Uint8Array.from([...new TextEncoder().encode(`${endpoint}|`), ...Uint8Array.from(request).reverse()]);
