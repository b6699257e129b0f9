/** The SSE push stream: live values and state changes, scoped to what each caller may see. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import { readServerSentEvents, type ServerSentEvent } from '../../shared/sse.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { activeDevice, addUser, connectDevice, createTemplate } from './device-fixtures.js';

/** Opens the stream and collects its events until closed. */
async function openStream(gw: TestGateway, token: string, query = '') {
  const controller = new AbortController();
  const res = await fetch(`${gw.baseUrl}/api/stream${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const events: ServerSentEvent[] = [];
  if (res.ok && res.body) {
    void (async () => {
      try {
        for await (const event of readServerSentEvents(res.body as ReadableStream<Uint8Array>))
          events.push(event);
      } catch {
        // aborted
      }
    })();
  }
  return { res, events, close: () => controller.abort() };
}

describe('push stream', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
    await gw.api(
      'PATCH',
      `/api/templates/${templateId}`,
      { events: [{ code: 'overheat', name: 'Overheat' }] },
      admin,
    );
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('pushes values and state changes only for devices the caller may see', async () => {
    const { user: bob, token: bobToken } = await addUser(gw);
    const adminsDevice = await activeDevice(gw, admin, templateId);
    const bobsDevice = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${bobsDevice.deviceId}/transfer`, { userId: bob.id }, admin);

    const bobStream = await openStream(gw, bobToken);
    const adminStream = await openStream(gw, admin);
    expect(bobStream.res.headers.get('content-type')).toBe('text/event-stream');
    await expect.poll(() => bobStream.events[0]?.event).toBe('snapshot');
    const snapshot = bobStream.events[0]!.data.devices as Array<{ id: string }>;
    expect(snapshot.map((d) => d.id)).toEqual([bobsDevice.deviceId]);

    const a = await connectDevice(gw.brokerUrl, adminsDevice.token);
    const b = await connectDevice(gw.brokerUrl, bobsDevice.token);
    await a.client.publishAsync('ds/temp', '1');
    await b.client.publishAsync('ds/temp', '2');
    await b.client.publishAsync('event/overheat', 'hot');
    await expect.poll(() => bobStream.events.filter((e) => e.event === 'event').length).toBe(1);
    await expect.poll(() => adminStream.events.filter((e) => e.event === 'value').length).toBe(2);
    const bobSaw = bobStream.events.filter((e) => e.event !== 'snapshot');
    expect(
      bobSaw.every((e) => (e.data.deviceId ?? (e.data.device as { id: string }).id) === bobsDevice.deviceId),
    ).toBe(true);
    expect(bobSaw.map((e) => e.event)).toEqual(expect.arrayContaining(['online', 'value', 'event']));
    expect(bobSaw.find((e) => e.event === 'value')!.data).toMatchObject({ name: 'temp', value: 2 });

    // Moving Bob's device away: his stream is told it is gone and hears nothing more of it.
    await gw.api(
      'POST',
      `/api/devices/${bobsDevice.deviceId}/transfer`,
      { userId: (await gw.gateway.services.store.users.byEmail('admin@example.com'))!.id },
      admin,
    );
    await expect.poll(() => bobStream.events.at(-1)?.event).toBe('removed');
    const count = bobStream.events.length;
    await b.client.publishAsync('ds/temp', '3');
    await expect.poll(() => adminStream.events.filter((e) => e.event === 'value').length).toBe(3);
    expect(bobStream.events.length).toBe(count);

    await a.client.endAsync();
    await b.client.endAsync();
    await expect.poll(() => adminStream.events.filter((e) => e.event === 'offline').length).toBe(2);
    bobStream.close();
    adminStream.close();
    // Closing a stream releases its listeners.
    await expect.poll(() => gw.gateway.services.events.listenerCount('device.value')).toBe(0);
  });

  it('follows one device, and refuses one the caller may not see before streaming', async () => {
    const { token: bobToken } = await addUser(gw);
    const d = await activeDevice(gw, admin, templateId);
    const refused = await openStream(gw, bobToken, `?deviceId=${d.deviceId}`);
    expect(refused.res.status).toBe(404);
    const one = await openStream(gw, admin, `?deviceId=${d.deviceId}`);
    await gw.api('PATCH', `/api/devices/${d.deviceId}`, { name: 'Renamed' }, admin);
    await expect
      .poll(() => one.events.find((e) => e.event === 'changed')?.data.device)
      .toMatchObject({ name: 'Renamed' });
    one.close();
  });
});

describe('push stream sessions', () => {
  it('ends the stream at the next heartbeat once the user is logged out by force', async () => {
    const clock = new ManualClock(Date.now());
    const gw = await startTestGateway({}, { clock });
    try {
      const admin = await gw.login();
      const { user, token } = await addUser(gw);
      const stream = await openStream(gw, token);
      await expect.poll(() => stream.events[0]?.event).toBe('snapshot');
      await clock.advance(1000);
      expect((await gw.api('POST', `/api/users/${user.id}/logout`, undefined, admin)).status).toBe(204);
      await clock.advance(15_000);
      await expect.poll(() => stream.events.at(-1)?.event).toBe('end');
      expect(stream.events.at(-1)!.data.code).toMatch(/TOKEN|AUTH/);
      // The server closed it: its listeners are gone.
      await expect.poll(() => gw.gateway.services.events.listenerCount('device.value')).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});
