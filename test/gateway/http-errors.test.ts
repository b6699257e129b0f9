/**
 * Every HTTP error answers in the documented envelope `{ error: { code, message } }` with a code
 * from the error table: the router's own refusals and requests Node's parser rejects included.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../shared/errors.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/** Writes raw bytes to the HTTP port and resolves with the status and parsed JSON body. */
function rawHttp(port: number, request: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      let body: unknown;
      try {
        body = JSON.parse(rest.join('\r\n\r\n'));
      } catch {
        body = rest.join('\r\n\r\n');
      }
      resolve({ status, body });
    });
    socket.end(request);
  });
}

const get = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${extra}\r\n`;

describe('HTTP error envelope', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  it.each([
    ['a %-escape that is not UTF-8', get('/api/devices/%E0%A4%A'), 400],
    ['a lone %', get('/api/orgs/%'), 400],
    ['an overlong path segment', get(`/api/devices/${'a'.repeat(300)}`), 400],
    ['headers larger than the server takes', get('/api/me', `x-big: ${'y'.repeat(20_000)}\r\n`), 431],
    ['something that is not HTTP', 'HELLO THERE\r\n\r\n', 400],
    [
      'a body on a GET in a broken chunk',
      get('/api/me', 'transfer-encoding: chunked\r\n').replace(/\r\n$/, '\r\nzz\r\n'),
      400,
    ],
    ['an unknown route', get('/api/nothing-here'), 404],
  ])('%s', async (_what, request, status) => {
    const res = await rawHttp(gw.gateway.httpPort, request);
    expect(res.status).toBe(status);
    const error = (res.body as { error?: { code?: string; message?: string } }).error;
    expect(error, JSON.stringify(res.body)).toBeDefined();
    expect(Object.hasOwn(ERROR_TABLE, error!.code!)).toBe(true);
    expect(ERROR_TABLE[error!.code as keyof typeof ERROR_TABLE].http).toBe(status);
    expect(typeof error!.message).toBe('string');
    expect(Object.keys(res.body as object)).toEqual(['error']);
  });
});
