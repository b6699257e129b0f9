/** Devices shared through the accounts module's grants: seen, controlled and streamed by level. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { activeDevice, addOrg, addUser, connectDevice, createTemplate, sleep } from './device-fixtures.js';

describe('shared devices', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('lists, reads and controls a shared device by the level of the grant, in another org', async () => {
    const elsewhere = await addOrg(gw, null, 'Neighbours');
    const { user: carol, token: carolToken } = await addUser(gw, { orgId: elsewhere });
    const d = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, d.token);
    const ids = async () =>
      (
        await gw.api<{ devices: Array<{ id: string }> }>('GET', '/api/devices', undefined, carolToken)
      ).body.devices.map((x) => x.id);
    expect(await ids()).toEqual([]);

    const view = await gw.api(
      'POST',
      `/api/devices/${d.deviceId}/shares`,
      { email: carol.email, level: 'view' },
      admin,
    );
    expect(view.status, JSON.stringify(view.body)).toBe(201);
    expect(await ids()).toEqual([d.deviceId]);
    expect((await gw.api('GET', `/api/devices/${d.deviceId}`, undefined, carolToken)).status).toBe(200);
    const write = `/api/devices/${d.deviceId}/datastreams/temp`;
    expect((await gw.api('PUT', write, { value: 1 }, carolToken)).status).toBe(403);
    for (const action of ['reconfigure', 'reboot', 'ping', 'reprovision']) {
      expect(
        (await gw.api('POST', `/api/devices/${d.deviceId}/${action}`, undefined, carolToken)).status,
        action,
      ).toBe(403);
    }
    expect(
      (await gw.api('PATCH', `/api/devices/${d.deviceId}`, { name: 'mine now' }, carolToken)).status,
    ).toBe(403);
    // Ownership actions stay with the owner's side.
    expect(
      (await gw.api('POST', `/api/devices/${d.deviceId}/transfer`, { userId: carol.id }, carolToken)).status,
    ).toBe(403);
    expect((await gw.api('DELETE', `/api/devices/${d.deviceId}`, undefined, carolToken)).status).toBe(403);

    await gw.api(
      'POST',
      `/api/devices/${d.deviceId}/shares`,
      { email: carol.email, level: 'control' },
      admin,
    );
    expect((await gw.api('PUT', write, { value: 7 }, carolToken)).body).toEqual({ value: 7, online: true });
    // Control lets her reconfigure; re-provisioning also needs the provision permission on the
    // device's org, which a grant does not give.
    expect(
      (await gw.api('POST', `/api/devices/${d.deviceId}/reconfigure`, undefined, carolToken)).body,
    ).toEqual({ online: true });
    expect(await dev.next('downlink/reconfigure')).toBe('');
    expect(
      (await gw.api('POST', `/api/devices/${d.deviceId}/reprovision`, undefined, carolToken)).status,
    ).toBe(403);
    // Nor may she send the device (and so its token) to a broker of her choosing.
    const redirect = await gw.api(
      'POST',
      `/api/devices/${d.deviceId}/redirect`,
      { url: 'mqtt://carols-broker.example:1883' },
      carolToken,
    );
    expect(redirect.status).toBe(403);
    expect(await dev.next('downlink/ds/temp')).toBe('7');
    await sleep(50);
    expect(dev.inbox.filter((m) => m.topic === 'downlink/redirect')).toEqual([]);

    await gw.api('DELETE', `/api/devices/${d.deviceId}/shares/${carol.id}`, undefined, admin);
    expect(await ids()).toEqual([]);
    expect((await gw.api('GET', `/api/devices/${d.deviceId}`, undefined, carolToken)).status).toBe(404);
    await dev.client.endAsync();
  });

  it('drops the shares of a deleted device', async () => {
    const { user: carol } = await addUser(gw);
    const d = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${d.deviceId}/shares`, { email: carol.email, level: 'view' }, admin);
    expect(await gw.gateway.services.store.grants.forDevice(d.deviceId)).toHaveLength(1);
    await gw.api('DELETE', `/api/devices/${d.deviceId}`, undefined, admin);
    expect(await gw.gateway.services.store.grants.forDevice(d.deviceId)).toHaveLength(0);
  });
});
