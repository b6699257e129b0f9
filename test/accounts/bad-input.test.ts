/** Bad input is refused with a stable code and changes nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser } from './account-support.js';

describe('bad input', () => {
  let gw: TestGateway;
  let admin: string;
  let orgId: string;
  let userId: string;

  const fingerprint = async () => {
    const s = gw.gateway.services.store;
    return JSON.stringify([
      await s.orgs.find(),
      await s.users.find(),
      await s.roles.find(),
      await s.invitations.find(),
      await s.linkTokens.find(),
      await s.grants.find(),
    ]);
  };

  const raw = async (method: string, path: string, body: string, contentType = 'application/json') => {
    const res = await fetch(`${gw.baseUrl}${path}`, {
      method,
      headers: { 'content-type': contentType, authorization: `Bearer ${admin}` },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    orgId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    userId = (await addUser(gw, admin, 'target@example.com', 'user')).id;
  });

  afterAll(async () => {
    await gw.stop();
  });

  const cases: Array<[string, string, string, () => unknown]> = [
    [
      'unknown field',
      'POST',
      '/api/invitations',
      () => ({ email: 'n1@example.com', roleId: 'user', isAdmin: true }),
    ],
    [
      'unknown field on update',
      'PATCH',
      '/api/users/:user',
      () => ({ name: 'x', passwordHash: 'scrypt$1$1$1$a$b' }),
    ],
    ['wrong type', 'POST', '/api/invitations', () => ({ email: 42, roleId: 'user' })],
    ['number as text', 'POST', '/api/orgs', () => ({ name: 5 })],
    [
      'operator object (NoSQL trick)',
      'POST',
      '/api/auth/login',
      () => ({ email: { $ne: null }, password: { $gt: '' } }),
    ],
    ['array for a string', 'POST', '/api/invitations', () => ({ email: ['a@example.com'], roleId: 'user' })],
    ['malformed email', 'POST', '/api/invitations', () => ({ email: 'not-an-email', roleId: 'user' })],
    [
      'email without a domain dot',
      'POST',
      '/api/invitations',
      () => ({ email: 'a@localhost', roleId: 'user' }),
    ],
    [
      'header injection in email',
      'POST',
      '/api/invitations',
      () => ({ email: 'a@example.com\r\nBcc: all@example.com', roleId: 'user' }),
    ],
    [
      'SQL in email',
      'POST',
      '/api/invitations',
      () => ({ email: "' OR 1=1 --@example.com", roleId: 'user' }),
    ],
    ['SQL in id', 'GET', "/api/users/1' OR '1'='1", () => undefined],
    ['path traversal in id', 'GET', '/api/orgs/..%2F..%2Fetc', () => undefined],
    ['control characters in a name', 'POST', '/api/orgs', () => ({ name: 'Evil\u0000Org' })],
    ['blank name', 'POST', '/api/orgs', () => ({ name: '   ' })],
    ['overlong name', 'POST', '/api/orgs', () => ({ name: 'x'.repeat(121) })],
    ['unknown role', 'POST', '/api/invitations', () => ({ email: 'n2@example.com', roleId: 'root' })],
    ['unknown permission', 'POST', '/api/orgs/:org/roles', () => ({ name: 'X', permissions: ['*'] })],
    [
      'too many permissions',
      'POST',
      '/api/orgs/:org/roles',
      () => ({ name: 'Y', permissions: Array(65).fill('org.view') }),
    ],
    ['unknown plan', 'PATCH', '/api/orgs/:org', () => ({ plan: 'platinum' })],
    ['empty update', 'PATCH', '/api/orgs/:org', () => ({})],
    ['status pending by hand', 'PATCH', '/api/users/:user', () => ({ status: 'pending' })],
    ['short password', 'POST', '/api/users/:user/reset-password', () => ({ password: 'short' })],
    [
      'short link token',
      'POST',
      '/api/invitations/accept',
      () => ({ token: 'abc', password: 'long enough password' }),
    ],
    ['query with an unknown key', 'GET', '/api/users?orgId=x&admin=true', () => undefined],
  ];

  for (const [name, method, template, body] of cases) {
    it(`refuses ${name} with VALIDATION_FAILED and changes nothing`, async () => {
      const path = template.replace(':user', userId).replace(':org', orgId);
      const before = await fingerprint();
      const res = await gw.api<{ error: { code: string } }>(method, path, body(), admin);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(await fingerprint()).toBe(before);
    });
  }

  it('refuses a prototype-pollution body', async () => {
    const before = await fingerprint();
    const res = await raw('POST', '/api/orgs', '{"name":"P","__proto__":{"admin":true}}');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const ctor = await raw('POST', '/api/orgs', '{"name":"Q","constructor":{"prototype":{"admin":true}}}');
    expect(ctor.body.error.code).toBe('VALIDATION_FAILED');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(await fingerprint()).toBe(before);
  });

  it('refuses invalid JSON, a wrong content type and an oversized body', async () => {
    const before = await fingerprint();
    expect((await raw('POST', '/api/orgs', '{"name": "x"')).body.error.code).toBe('VALIDATION_FAILED');
    const form = await raw('POST', '/api/orgs', 'name=x', 'application/x-www-form-urlencoded');
    expect([400, 415]).toContain(form.status);
    expect(form.body.error.code).toBe('VALIDATION_FAILED');
    const huge = await raw('POST', '/api/orgs', JSON.stringify({ name: 'x'.repeat(70_000) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await fingerprint()).toBe(before);
  });
});
