/**
 * Sign-ups are limited per IP and per address, never per maker: no caller can close a maker's
 * sign-up page, and nobody can fill a stranger's mailbox with verification mail.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { readOutbox } from './account-support.js';

describe('registration limits', () => {
  let gw: TestGateway;
  let rootId: string;

  /** A sign-up from a given remote address (injected: the request never leaves the process). */
  const register = async (email: string, remoteAddress: string) => {
    const res = await gw.gateway.http.inject({
      method: 'POST',
      url: '/api/registrations',
      payload: { orgId: rootId, email },
      remoteAddress,
    });
    return { status: res.statusCode, body: res.json() as { error?: { code: string } }, headers: res.headers };
  };
  /** The maker (the root org) switches self-registration on. */
  const openSignUps = async () => {
    const admin = await gw.login();
    rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const opened = await gw.api('PATCH', `/api/orgs/${rootId}`, { registration: { enabled: true } }, admin);
    expect(opened.status).toBe(200);
  };
  const mailsTo = async (email: string) =>
    (await readOutbox(gw.dataDir)).filter((m) => m.to.includes(email)).length;

  beforeEach(async () => {
    // The old per-maker count would close sign-ups after 5 a day here.
    gw = await startTestGateway({ accounts: { invitationsPerOrgPerDay: 5 } });
    await openSignUps();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('many people from many addresses can all sign up with one maker', async () => {
    for (let i = 1; i <= 12; i++) {
      const res = await register(`person${i}@example.com`, `198.51.100.${i}`);
      expect(res.status, `sign-up ${i}`).toBe(202);
    }
    // Mail goes out just after the answer.
    await expect.poll(() => mailsTo('@example.com'), { timeout: 10_000 }).toBe(12);
  });

  it('one IP gets a coded 429 after its hourly share; others are not affected', async () => {
    for (let i = 1; i <= 10; i++)
      expect((await register(`a${i}@example.com`, '203.0.113.7')).status).toBe(202);
    const refused = await register('a11@example.com', '203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await register('b@example.com', '203.0.113.8')).status).toBe(202);
  });

  it('one address gets at most 3 verification mails a day, whoever asks; the answer stays the same', async () => {
    for (let i = 1; i <= 5; i++) {
      expect((await register('victim@example.com', `192.0.2.${i}`)).status).toBe(202);
    }
    await expect.poll(() => mailsTo('victim@example.com'), { timeout: 10_000 }).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mailsTo('victim@example.com')).toBe(3);
  });

  it('sweeps spent sign-up links, so they do not pile up', async () => {
    await gw.stop();
    const clock = new ManualClock(Date.now());
    gw = await startTestGateway({}, { clock });
    await openSignUps();
    for (let i = 1; i <= 4; i++) await register(`old${i}@example.com`, `192.0.2.${i}`);
    expect(await gw.gateway.services.store.linkTokens.count()).toBe(4);
    // Expired (24 h) and kept a day for the per-address count: gone at the next sign-up after that,
    // by a delete in the store: the sweep never reads the table.
    const store = gw.gateway.services.store;
    const find = store.linkTokens.find.bind(store.linkTokens);
    let wholeTableReads = 0;
    store.linkTokens.find = (where, options) => {
      if ((!where || Object.keys(where).length === 0) && options?.limit === undefined) wholeTableReads++;
      return find(where, options);
    };
    await clock.advance(49 * 3_600_000);
    await register('new@example.com', '192.0.2.99');
    store.linkTokens.find = find;
    expect(wholeTableReads).toBe(0);
    expect((await gw.gateway.services.store.linkTokens.find()).map((t) => t.email)).toEqual([
      'new@example.com',
    ]);
  });
});
