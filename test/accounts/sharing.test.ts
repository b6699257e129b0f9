import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from '../../shared/sse.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg, readOutbox } from './account-support.js';

type DeviceView = { values: Record<string, { value: unknown }>; error?: { code: string } };

describe('device sharing', () => {
  let gw: TestGateway;
  let client: mqtt.MqttClient | undefined;

  beforeEach(async () => {
    gw = await startTestGateway();
  });

  afterEach(async () => {
    await client?.endAsync();
    client = undefined;
    await gw.stop();
  });

  it('grant → the grantee in another org reads live values → control only with a control grant → revoke → refused', async () => {
    const admin = await gw.login();
    const home = await createOrg(gw, admin, 'Home');
    const office = await createOrg(gw, admin, 'Office');
    const owner = await addUser(gw, admin, 'owner@example.com', 'user', home);
    const friend = await addUser(gw, admin, 'friend@example.com', 'user', office);
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }] },
      admin,
    );
    const session = await gw.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      owner.token,
    );
    const deviceId = session.body.deviceId;
    client = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: session.body.token,
      reconnectPeriod: 0,
    });
    await client.publishAsync('info/mcu', JSON.stringify({ tmpl: template.body.id, ver: '1.0.0' }));
    await client.publishAsync('ds/temp', '20.5');

    // Before the grant the friend cannot tell the device exists.
    expect((await gw.api('GET', `/api/devices/${deviceId}`, undefined, friend.token)).status).toBe(404);
    // Only the owner (or an admin) shares; the friend cannot share it to themselves.
    const self = await gw.api(
      'POST',
      `/api/devices/${deviceId}/shares`,
      { email: 'friend@example.com', level: 'control' },
      friend.token,
    );
    expect(self.status).toBe(404);
    const granted = await gw.api<{ level: string; email: string }>(
      'POST',
      `/api/devices/${deviceId}/shares`,
      { email: 'friend@example.com', level: 'view' },
      owner.token,
    );
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ level: 'view', email: 'friend@example.com' });

    await expect
      .poll(
        async () =>
          (await gw.api<DeviceView>('GET', `/api/devices/${deviceId}`, undefined, friend.token)).body.values
            ?.temp?.value,
        { timeout: 5000 },
      )
      .toBe(20.5);
    await client.publishAsync('ds/temp', '22');
    await expect
      .poll(
        async () =>
          (await gw.api<DeviceView>('GET', `/api/devices/${deviceId}`, undefined, friend.token)).body.values
            ?.temp?.value,
        { timeout: 5000 },
      )
      .toBe(22);
    const shared = await gw.api<{ shared: Array<{ device: { id: string }; level: string }> }>(
      'GET',
      '/api/shares',
      undefined,
      friend.token,
    );
    expect(shared.body.shared).toEqual([
      expect.objectContaining({ level: 'view', device: expect.objectContaining({ id: deviceId }) }),
    ]);

    // View is not control; a control grant is.
    expect(
      (await gw.api('PUT', `/api/devices/${deviceId}/datastreams/temp`, { value: 19 }, friend.token)).status,
    ).toBe(403);
    await gw.api(
      'POST',
      `/api/devices/${deviceId}/shares`,
      { email: 'friend@example.com', level: 'control' },
      owner.token,
    );
    const written = await gw.api(
      'PUT',
      `/api/devices/${deviceId}/datastreams/temp`,
      { value: 19 },
      friend.token,
    );
    expect(written.status).toBeLessThan(300);
    // A grant never lets the grantee manage the device: transfer, delete and re-provision stay refused.
    expect(
      (await gw.api('POST', `/api/devices/${deviceId}/transfer`, { orgId: office }, friend.token)).status,
    ).toBe(403);
    expect((await gw.api('DELETE', `/api/devices/${deviceId}`, undefined, friend.token)).status).toBe(403);
    expect(
      (await gw.api('POST', `/api/devices/${deviceId}/reprovision`, undefined, friend.token)).status,
    ).toBe(403);

    const list = await gw.api<{ shares: Array<{ email: string }> }>(
      'GET',
      `/api/devices/${deviceId}/shares`,
      undefined,
      owner.token,
    );
    expect(list.body.shares.map((s) => s.email)).toEqual(['friend@example.com']);
    expect(
      (await gw.api('DELETE', `/api/devices/${deviceId}/shares/${friend.id}`, undefined, owner.token)).status,
    ).toBe(204);
    const after = await gw.api<DeviceView>('GET', `/api/devices/${deviceId}`, undefined, friend.token);
    expect(after.status).toBe(404);
    expect(
      (await gw.api<{ shared: unknown[] }>('GET', '/api/shares', undefined, friend.token)).body.shared,
    ).toEqual([]);

    const audit = await gw.api<{ events: Array<{ action: string }> }>(
      'GET',
      `/api/audit?targetId=${deviceId}`,
      undefined,
      admin,
    );
    expect(audit.body.events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['device.shared', 'device.unshared']),
    );
  });

  it('never tells whether an address has an account: same answer, no user id; the share waits for one', async () => {
    const admin = await gw.login();
    const owner = await addUser(gw, admin, 'o2@example.com', 'user');
    const knownUser = await addUser(gw, admin, 'known@example.com', 'user');
    const template = await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Plug' }, admin);
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      owner.token,
    );
    const shares = `/api/devices/${session.body.deviceId}/shares`;
    const known = await gw.api<Record<string, unknown>>(
      'POST',
      shares,
      { email: 'known@example.com', level: 'view' },
      owner.token,
    );
    const stranger = await gw.api<Record<string, unknown>>(
      'POST',
      shares,
      { email: 'Stranger@Example.com', level: 'view' },
      owner.token,
    );
    expect(stranger.status).toBe(known.status);
    expect(Object.keys(stranger.body).sort()).toEqual(Object.keys(known.body).sort());
    for (const body of [known.body, stranger.body]) {
      expect(JSON.stringify(body)).not.toContain(knownUser.id);
      expect(body).not.toHaveProperty('userId');
    }
    expect(stranger.body).toMatchObject({ email: 'stranger@example.com', level: 'view' });
    const list = await gw.api<{ shares: Array<Record<string, unknown>> }>(
      'GET',
      shares,
      undefined,
      owner.token,
    );
    expect(list.body.shares.map((s) => s.email)).toEqual(['known@example.com', 'stranger@example.com']);
    expect(JSON.stringify(list.body)).not.toContain(knownUser.id);
    // Nothing reaches the address: no account, no mail.
    expect(await gw.gateway.services.store.users.byEmail('stranger@example.com')).toBeUndefined();
    expect((await readOutbox(gw.dataDir)).some((m) => m.to.includes('stranger@'))).toBe(false);

    // Once an account with that address is activated, the share works.
    const stranger2 = await addUser(gw, admin, 'stranger@example.com', 'user');
    const seen = await gw.api('GET', `/api/devices/${session.body.deviceId}`, undefined, stranger2.token);
    expect(seen.status).toBe(200);
    // A share is revoked by its id.
    const revoke = await gw.api('DELETE', `${shares}/${String(stranger.body.id)}`, undefined, owner.token);
    expect(revoke.status).toBe(204);
    expect(
      (await gw.api('GET', `/api/devices/${session.body.deviceId}`, undefined, stranger2.token)).status,
    ).toBe(404);
  });

  it('a control share never lets its holder take the device over, and revoking it ends its stream at once', async () => {
    const admin = await gw.login();
    const home = await createOrg(gw, admin, 'Home');
    // Same org, plain User role: the role alone grants provisioning in that org.
    const owner = await addUser(gw, admin, 'owner3@example.com', 'user', home);
    const friend = await addUser(gw, admin, 'friend3@example.com', 'user', home);
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Lamp', datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }] },
      admin,
    );
    const session = await gw.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      owner.token,
    );
    const deviceId = session.body.deviceId;
    client = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: session.body.token,
      reconnectPeriod: 0,
    });
    await client.publishAsync('info/mcu', JSON.stringify({ tmpl: template.body.id, ver: '1.0.0' }));
    const shared = await gw.api(
      'POST',
      `/api/devices/${deviceId}/shares`,
      { email: 'friend3@example.com', level: 'control' },
      owner.token,
    );
    expect(shared.status).toBeLessThan(300);
    expect(
      (await gw.api('PUT', `/api/devices/${deviceId}/datastreams/temp`, { value: 3 }, friend.token)).status,
    ).toBe(200);

    // Re-provisioning would hand the grantee a device token that outlives the share.
    const reprovision = await gw.api<{ token?: string; error?: { code: string } }>(
      'POST',
      `/api/devices/${deviceId}/reprovision`,
      undefined,
      friend.token,
    );
    expect(reprovision.status).toBe(403);
    expect(reprovision.body.token).toBeUndefined();
    expect((await gw.api('DELETE', `/api/devices/${deviceId}`, undefined, friend.token)).status).toBe(403);
    expect(
      (await gw.api('POST', `/api/devices/${deviceId}/transfer`, { orgId: home }, friend.token)).status,
    ).toBe(403);
    expect(client.connected).toBe(true);

    // The grantee's live stream: a revoke removes the device from it at once, not at a heartbeat.
    const abort = new AbortController();
    const res = await fetch(`${gw.baseUrl}/api/stream`, {
      headers: { authorization: `Bearer ${friend.token}` },
      signal: abort.signal,
    });
    const events: ServerSentEvent[] = [];
    void (async () => {
      try {
        for await (const e of readServerSentEvents(res.body as ReadableStream<Uint8Array>)) events.push(e);
      } catch {
        // aborted
      }
    })();
    try {
      await expect.poll(() => events[0]?.event).toBe('snapshot');
      expect((events[0]!.data.devices as Array<{ id: string }>).map((d) => d.id)).toEqual([deviceId]);
      const revoked = await gw.api(
        'DELETE',
        `/api/devices/${deviceId}/shares/${friend.id}`,
        undefined,
        owner.token,
      );
      expect(revoked.status).toBe(204);
      await expect.poll(() => events.map((e) => e.event), { timeout: 3000 }).toContain('removed');
      await client.publishAsync('ds/temp', '30');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(events.filter((e) => e.event === 'value')).toEqual([]);
    } finally {
      abort.abort();
    }
  });
});
