/**
 * Sessions are keyed on the device (its token), never on the MQTT client id a device chooses:
 * another tenant's device that picks the same id (or none at all) cannot knock a device offline,
 * and a second connection with the same token takes over the first, as Blynk does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  activeDevice,
  addOrg,
  addUser,
  connectDevice,
  createTemplate,
  sleep,
} from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('MQTT client ids', () => {
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

  it('the same client id from another tenant’s token neither takes over nor is refused', async () => {
    const mine = await activeDevice(gw, admin, templateId);
    // Another root org (another tenant) with its own admin, template and device.
    const otherOrg = await addOrg(gw, null, 'Other tenant');
    const other = await addUser(gw, { orgId: otherOrg, roleId: 'admin' });
    const otherTemplate = await createTemplate(gw, other.token, 'Other');
    const theirs = await activeDevice(gw, other.token, otherTemplate);

    const a = await connectDevice(gw.brokerUrl, mine.token, { clientId: 'kitchen-heater' });
    const b = await connectDevice(gw.brokerUrl, theirs.token, { clientId: 'kitchen-heater' });
    await sleep(100);
    expect(a.client.connected).toBe(true);
    expect(b.client.connected).toBe(true);
    const broker = gw.gateway.services.broker;
    expect(broker.isConnected(mine.deviceId) && broker.isConnected(theirs.deviceId)).toBe(true);
    // Each gets its own downlinks only.
    await gw.api('PUT', `/api/devices/${mine.deviceId}/datastreams/temp`, { value: 1 }, admin);
    await gw.api('PUT', `/api/devices/${theirs.deviceId}/datastreams/temp`, { value: 2 }, other.token);
    expect(await a.next('downlink/ds/temp')).toBe('1');
    expect(await b.next('downlink/ds/temp')).toBe('2');
    await a.client.endAsync();
    await b.client.endAsync();
  });

  it('an empty client id works, for several devices at once', async () => {
    const one = await activeDevice(gw, admin, templateId);
    const two = await activeDevice(gw, admin, templateId);
    const a = await connectDevice(gw.brokerUrl, one.token, { clientId: '' });
    const b = await connectDevice(gw.brokerUrl, two.token, { clientId: '' });
    await sleep(100);
    expect(a.client.connected && b.client.connected).toBe(true);
    await a.client.publishAsync('ds/temp', '3');
    await b.client.publishAsync('ds/temp', '4');
    const value = async (id: string) =>
      (
        await gw.api<{ values: Record<string, { value: number }> }>(
          'GET',
          `/api/devices/${id}`,
          undefined,
          admin,
        )
      ).body.values.temp?.value;
    await expect.poll(() => value(one.deviceId)).toBe(3);
    await expect.poll(() => value(two.deviceId)).toBe(4);
    await a.client.endAsync();
    await b.client.endAsync();
  });

  it('a second connection with the same token and the same client id takes over, and the device stays online', async () => {
    const dev = await activeDevice(gw, admin, templateId);
    const offline: string[] = [];
    gw.gateway.services.events.on('device.offline', ({ device }) => offline.push(device.id));
    const first = await connectDevice(gw.brokerUrl, dev.token, { clientId: 'same' });
    const second = await connectDevice(gw.brokerUrl, dev.token, { clientId: 'same' });
    await first.closed;
    expect(second.client.connected).toBe(true);
    await gw.api('PUT', `/api/devices/${dev.deviceId}/datastreams/temp`, { value: 7 }, admin);
    expect(await second.next('downlink/ds/temp')).toBe('7');
    const shown = await gw.api<{ online: boolean }>('GET', `/api/devices/${dev.deviceId}`, undefined, admin);
    expect(shown.body.online).toBe(true);
    expect(offline).toEqual([]);
    await second.client.endAsync();
    await expect.poll(() => offline).toEqual([dev.deviceId]);
  });
});
