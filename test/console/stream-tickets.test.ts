/**
 * Stream tickets, for clients that cannot send an Authorization header (the browser's EventSource):
 * issued to a signed-in caller for the devices it names, spent on first use, dead after 30 s,
 * bounded in number, and never a way to see more than the caller may.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_TICKET_TTL_MS, StreamTickets } from '../../gateway/http/stream-tickets.js';
import { ManualClock } from '../../shared/clock.js';
import { readServerSentEvents } from '../../shared/sse.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('stream tickets over HTTP', () => {
  let gw: TestGateway;
  let token: string;
  let ids: string[];

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.login();
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Lamp', datastreams: [{ name: 'on', type: 'int' }] },
      token,
    );
    const minted = await gw.api<{ devices: { deviceId: string }[] }>(
      'POST',
      '/api/static-tokens',
      { templateId: template.body.id, count: 3 },
      token,
    );
    ids = minted.body.devices.map((d) => d.deviceId);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const ticketFor = (body: unknown, bearer: string | null = token) =>
    fetch(`${gw.baseUrl}/api/stream/tickets`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it('gives a signed-in caller a ticket that opens the stream of the named devices, with no header', async () => {
    expect((await ticketFor({ deviceIds: [ids[0]] }, null)).status).toBe(401);
    const res = await ticketFor({ deviceIds: [ids[0], ids[1], 'dev_unknown'] });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { ticket, url, expiresAt } = (await res.json()) as {
      ticket: string;
      url: string;
      expiresAt: number;
    };
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`/api/stream?ticket=${ticket}`);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(STREAM_TICKET_TTL_MS);

    const abort = new AbortController();
    const stream = await fetch(`${gw.baseUrl}${url}`, { signal: abort.signal });
    expect(stream.status).toBe(200);
    const events = readServerSentEvents(stream.body!);
    const snapshot = (await events.next()).value!;
    expect(snapshot.event).toBe('snapshot');
    expect((snapshot.data.devices as { id: string }[]).map((d) => d.id).sort()).toEqual(
      [ids[0], ids[1]].sort(),
    );
    // News of a device outside the ticket's scope is not sent; news of one inside is.
    await gw.api('PATCH', `/api/devices/${ids[2]}`, { name: 'elsewhere' }, token);
    await gw.api('PATCH', `/api/devices/${ids[1]}`, { name: 'on the ticket' }, token);
    const next = (await events.next()).value!;
    expect(next.event).toBe('changed');
    expect((next.data.device as { id: string }).id).toBe(ids[1]);
    abort.abort();

    // Spent: the same ticket opens nothing the second time.
    const again = await fetch(`${gw.baseUrl}${url}`);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('AUTH_REQUIRED');
  });

  it('refuses tickets without a scope or with a wider one, and a ticket beside other parameters', async () => {
    expect((await ticketFor({})).status).toBe(400);
    expect((await ticketFor({ deviceIds: [] })).status).toBe(400);
    expect((await ticketFor({ deviceIds: Array.from({ length: 201 }, (_, i) => `dev_${i}`) })).status).toBe(
      400,
    );
    expect((await ticketFor({ deviceId: ids[0], deviceIds: [ids[1]] })).status).toBe(400);
    const { ticket } = (await (await ticketFor({ deviceId: ids[0] })).json()) as { ticket: string };
    const mixed = await fetch(`${gw.baseUrl}/api/stream?ticket=${ticket}&deviceIds=${ids[2]}`);
    expect(mixed.status).toBe(400);
    expect((await fetch(`${gw.baseUrl}/api/stream?ticket=${'A'.repeat(43)}`)).status).toBe(401);
    expect((await fetch(`${gw.baseUrl}/api/stream?ticket=short`)).status).toBe(400);
  });

  it('a ticket for one device the caller cannot see opens nothing', async () => {
    const { ticket } = (await (await ticketFor({ deviceId: 'dev_not_mine' })).json()) as { ticket: string };
    const res = await fetch(`${gw.baseUrl}/api/stream?ticket=${ticket}`);
    expect(res.status).toBe(404);
  });
});

describe('StreamTickets', () => {
  it('spends a ticket once and lets it expire after 30 s', async () => {
    const clock = new ManualClock();
    const tickets = new StreamTickets(clock);
    const a = tickets.issue('usr_1', 'access-a', { deviceId: 'dev_1' });
    expect(tickets.redeem(a.ticket)).toEqual({ accessToken: 'access-a', scope: { deviceId: 'dev_1' } });
    expect(() => tickets.redeem(a.ticket)).toThrow(expect.objectContaining({ code: 'AUTH_REQUIRED' }));
    const b = tickets.issue('usr_1', 'access-b', { deviceIds: ['dev_1'] });
    await clock.advance(STREAM_TICKET_TTL_MS);
    expect(() => tickets.redeem(b.ticket)).toThrow(expect.objectContaining({ code: 'AUTH_REQUIRED' }));
  });

  it('holds at most 16 unused tickets per person; expired ones make room again', async () => {
    const clock = new ManualClock();
    const tickets = new StreamTickets(clock);
    for (let i = 0; i < 16; i++) tickets.issue('usr_1', 't', { deviceId: 'dev_1' });
    expect(() => tickets.issue('usr_1', 't', { deviceId: 'dev_1' })).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED' }),
    );
    // Someone else is not held back by it.
    tickets.issue('usr_2', 't', { deviceId: 'dev_2' });
    await clock.advance(STREAM_TICKET_TTL_MS);
    tickets.issue('usr_1', 't', { deviceId: 'dev_1' });
    expect(tickets.size).toBe(1);
  });
});
