import { describe, expect, it } from 'vitest';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import type { DeviceSecurityConfig } from '../../provisioning/protocol/security/security-factory.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { MemoryLink } from '../../provisioning/transport/memory-link.js';
import { ManualClock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { FakeDevice, homeNetworks } from './fake-device.js';

const POP = 'abcd1234';
const credential = await makeSrpVerifier(POP);

function setup(security: DeviceSecurityConfig, clock = new ManualClock()) {
  const fake = new FakeDevice(homeNetworks(7));
  const device = new ProtocommDevice({
    security,
    templateId: 'TMPL0001',
    wifi: fake,
    scan: fake,
    control: fake,
    activation: fake,
    clock,
  });
  const link = new MemoryLink(device);
  const minSecurity = security.version;
  const client = new ProtocommClient(link, { minSecurity, clock });
  return { fake, device, link, client, clock };
}

const configs: Array<[string, DeviceSecurityConfig]> = [
  ['security 0', { version: 0 }],
  ['security 1', { version: 1, pop: POP }],
  ['security 2', { version: 2, credential }],
];

describe.each(configs)('protocomm over the memory link, %s', (_name, security) => {
  it('walks the whole flow: version, session, scan, Wi-Fi, activation, control', async () => {
    const { client, fake } = setup(security);
    const version = await client.getVersion();
    expect(version.prov).toMatchObject({ ver: 'v1.1', secVer: security.version });
    expect(version.prov.cap).toContain('wifi_scan');
    expect(version.tether).toEqual({ ver: '1', activation: 'tether-activation', tmpl: 'TMPL0001' });

    expect(await client.establishSession({ pop: POP })).toBe(security.version);
    const networks = await client.scanWifi({ pageSize: 3 });
    expect(networks.map((n) => n.ssid)).toEqual(fake.accessPoints.map((ap) => ap.ssid));
    expect(networks[0]).toEqual({
      ssid: 'home',
      bssid: '02:00:00:00:00:01',
      channel: 1,
      rssi: -40,
      authMode: 'wpa2-psk',
    });

    await client.setWifiConfig({ ssid: 'home', passphrase: 'correct horse' });
    await client.applyWifiConfig();
    const joined = await client.waitForWifi();
    expect(joined).toMatchObject({
      state: 'connected',
      ssid: 'home',
      ip4Address: '192.168.1.42',
      channel: 1,
    });

    const activation = { token: 'A'.repeat(32), brokerUrl: 'mqtt://127.0.0.1:1883', templateId: 'TMPL0001' };
    expect(await client.activate(activation)).toEqual({ hardwareId: 'esp32-a1b2c3' });
    expect(fake.activations).toEqual([activation]);

    await client.ctrlReprovision();
    await client.ctrlReset();
    expect([fake.reprovisions, fake.resets]).toEqual([1, 1]);
    await client.close();
  });
});

describe('protocomm behaviour beyond esp-idf', () => {
  it('a wrong Wi-Fi password is corrected in the same session', async () => {
    const { client } = setup({ version: 2, credential });
    await client.establishSession({ pop: POP });
    await client.setWifiConfig({ ssid: 'home', passphrase: 'wrong' });
    await client.applyWifiConfig();
    await expect(client.waitForWifi()).rejects.toMatchObject({ code: 'WIFI_AUTH_FAILED' });
    await client.setWifiConfig({ ssid: 'homme', passphrase: 'correct horse' });
    await client.applyWifiConfig();
    await expect(client.waitForWifi()).rejects.toMatchObject({ code: 'WIFI_NETWORK_NOT_FOUND' });
    await client.setWifiConfig({ ssid: 'home', passphrase: 'correct horse' });
    await client.applyWifiConfig();
    expect((await client.waitForWifi()).state).toBe('connected');
  });

  it('refuses an activation for another template with the device reason', async () => {
    const { client, fake } = setup({ version: 2, credential });
    await client.establishSession({ pop: POP });
    const error = await client
      .activate({ token: 'T'.repeat(32), brokerUrl: 'mqtt://gw:1883', templateId: 'TMPL9999' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toMatchObject({ code: 'TEMPLATE_MISMATCH', details: { step: 'activate' } });
    expect(fake.activations).toEqual([]);
  });

  it('refuses over-long Wi-Fi settings with VALIDATION_FAILED and keeps the session', async () => {
    const { client } = setup({ version: 1, pop: POP });
    await client.establishSession({ pop: POP });
    await expect(client.setWifiConfig({ ssid: 'x'.repeat(33), passphrase: 'p' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await client.setWifiConfig({ ssid: 'home', passphrase: 'correct horse' });
  });

  it('refuses encrypted endpoints before a session', async () => {
    const { client, link } = setup({ version: 2, credential });
    await expect(client.getWifiStatus()).rejects.toMatchObject({ code: 'SESSION_EXPIRED' });
    await expect(link.exchange('prov-config', new Uint8Array([8, 0]))).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
      details: { deviceCode: 'SESSION_EXPIRED' },
    });
  });
});

describe('downgrade protection', () => {
  it('refuses a security 1 device when security 2 is required, before sending anything secret', async () => {
    const fake = new FakeDevice();
    const device = new ProtocommDevice({ security: { version: 1, pop: POP }, templateId: 'T', wifi: fake });
    const sent: string[] = [];
    const link = new MemoryLink(device);
    const spy = {
      kind: link.kind,
      exchange: (endpoint: string, body: Uint8Array) => {
        sent.push(endpoint);
        return link.exchange(endpoint, body);
      },
      close: () => link.close(),
    };
    const client = new ProtocommClient(spy);
    await expect(client.establishSession({ pop: POP })).rejects.toMatchObject({
      code: 'SECURITY_MISMATCH',
      details: { advertised: 1, required: 2 },
    });
    expect(sent).toEqual(['proto-ver']);
  });

  it('refuses a security 0 device when security 1 is the minimum, and a requested downgrade', async () => {
    const fake = new FakeDevice();
    const sec0 = new ProtocommDevice({ security: { version: 0 }, templateId: 'T', wifi: fake });
    await expect(
      new ProtocommClient(new MemoryLink(sec0), { minSecurity: 1 }).establishSession(),
    ).rejects.toMatchObject({ code: 'SECURITY_MISMATCH' });
    const sec2 = new ProtocommDevice({ security: { version: 2, credential }, templateId: 'T', wifi: fake });
    await expect(
      new ProtocommClient(new MemoryLink(sec2), { minSecurity: 1 }).establishSession({
        pop: POP,
        security: 1,
      }),
    ).rejects.toMatchObject({ code: 'SECURITY_MISMATCH' });
  });
});
