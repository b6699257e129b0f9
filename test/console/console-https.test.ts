/**
 * The console over HTTPS (http.tlsCertFile and http.tlsKeyFile set), as a phone on the LAN reaches
 * it for Web Bluetooth: the pages carry HSTS beside the strict CSP, and the refresh cookie is Secure
 * as well as httpOnly and SameSite=Strict (over plain HTTP it cannot be, or the browser drops it).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSRF_HEADER } from '../../shared/console-pages.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { makeSelfSignedCert, type TestCertificate, toolAvailable } from '../support/tls-cert.js';

const HAS_OPENSSL = toolAvailable('openssl', 'openssl');

describe.skipIf(!HAS_OPENSSL)('the web console over HTTPS', () => {
  let cert: TestCertificate;
  let gw: TestGateway;
  let origin: string;

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    gw = await startTestGateway({ http: { tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile } });
    origin = gw.gateway.httpUrl;
  });
  afterAll(async () => {
    await gw?.stop();
    await cert?.remove();
  });

  /** One HTTPS exchange trusting the test certificate; answers the status and headers. */
  const exchange = (path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${origin}${path}`,
        {
          method,
          ca: cert.cert,
          headers: { ...(text ? { 'content-type': 'application/json' } : {}), ...headers },
          timeout: 5000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(text);
    });

  it('serves the pages with HSTS beside the strict CSP and no framing', async () => {
    expect(origin).toMatch(/^https:\/\//);
    const page = await exchange('/sign-in');
    expect(page.status).toBe(200);
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  it('sets the refresh cookie Secure, httpOnly and SameSite=Strict', async () => {
    const res = await exchange(
      '/api/browser-session',
      'POST',
      { email: ADMIN.email, password: ADMIN.password },
      { [CONSOLE_CSRF_HEADER]: '1', origin },
    );
    expect(res.status).toBe(200);
    const [cookie = ''] = res.headers['set-cookie'] ?? [];
    expect(cookie).toMatch(/^tether_refresh=[A-Za-z0-9_-]{20,};/);
    for (const flag of ['HttpOnly', 'SameSite=Strict', 'Secure', 'Path=/api/browser-session']) {
      expect(cookie).toContain(flag);
    }
  });
});
