/**
 * The Web Bluetooth adapter's own behaviour, against a fake navigator.bluetooth: the chooser's
 * filters and refusals, the provisioning service and endpoint names, a device that drops the link,
 * the ATT size limit, and a whole security 2 session with the browser's crypto (WebCrypto).
 */
import { describe, expect, it } from 'vitest';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { webCrypto } from '../../provisioning/protocol/security/web-crypto-provider.js';
import { ESP_PROV_EXAMPLE_SERVICE_UUID } from '../../provisioning/transport/ble-gatt-layout.js';
import { WebBluetoothTransport } from '../../provisioning/transport/ble-web.js';
import { FakeDevice } from '../provisioning/fake-device.js';
import { RecordingDevice } from '../provisioning/transport-contract.js';
import { FakeWebBluetooth, FakeWebDevice } from './fake-web-bluetooth.js';

const SERVICE = ESP_PROV_EXAMPLE_SERVICE_UUID;

function setUp(options: { name?: string; serviceUuid?: string } = {}) {
  const bluetooth = new FakeWebBluetooth();
  const handler = new RecordingDevice();
  const device = new FakeWebDevice({
    handler,
    id: 'ble-1',
    name: options.name ?? 'PROV_1A2B3C',
    serviceUuid: options.serviceUuid ?? SERVICE,
  });
  bluetooth.devices.push(device);
  return { bluetooth, handler, device, transport: new WebBluetoothTransport({ bluetooth }) };
}

describe('Web Bluetooth transport', () => {
  it('asks the chooser for the provisioning service or the product name prefix', async () => {
    const { bluetooth, transport } = setUp();
    expect(await transport.choose('PROV_')).toEqual({
      name: 'PROV_1A2B3C',
      transport: 'ble',
      address: 'ble-1',
    });
    expect(bluetooth.lastRequest).toEqual({
      filters: [{ services: [SERVICE] }, { namePrefix: 'PROV_' }],
      optionalServices: [SERVICE],
    });
  });

  it('says what to do when nothing is chosen, and refuses to connect to a device never chosen', async () => {
    const { bluetooth, transport } = setUp();
    bluetooth.chooser = 'cancel';
    await expect(transport.choose()).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
      message: expect.stringContaining('No device was chosen'),
    });
    await expect(transport.connect('ble-1')).rejects.toMatchObject({ code: 'DEVICE_UNREACHABLE' });
  });

  it('refuses a device without the provisioning service, and disconnects from it', async () => {
    const { device, transport } = setUp({
      name: 'PROV_OTHER',
      serviceUuid: '0000180d-0000-1000-8000-00805f9b34fb',
    });
    const { address } = await transport.choose('PROV_');
    await expect(transport.connect(address)).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
      details: { serviceUuid: SERVICE },
    });
    expect(device.gatt.connected).toBe(false);
  });

  it('maps endpoints by their user description and reports a dropped link as DEVICE_UNREACHABLE', async () => {
    const { device, handler, transport } = setUp();
    const link = await transport.connect((await transport.choose()).address);
    expect(link.endpoints.sort()).toEqual(['echo', 'fail', 'slow']);
    expect(await link.exchange('echo', Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(3, 2, 1));
    device.gatt.disconnect(); // the device went away
    expect(handler.closed).toHaveLength(1);
    await expect(link.exchange('echo', Uint8Array.of(1))).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
      message: 'PROV_1A2B3C disconnected.',
    });
  });

  it('refuses a message larger than one characteristic value (512 bytes) before sending it', async () => {
    const { handler, transport } = setUp();
    const link = await transport.connect((await transport.choose()).address);
    expect(await link.exchange('echo', new Uint8Array(512))).toHaveLength(512);
    await expect(link.exchange('echo', new Uint8Array(513))).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(handler.sessions).toHaveLength(1);
  });

  it('carries a whole security 2 session with the browser crypto provider', async () => {
    const bluetooth = new FakeWebBluetooth();
    const fake = new FakeDevice();
    const handler = new ProtocommDevice({
      security: { version: 2, credential: await makeSrpVerifier('abcd1234') },
      templateId: 'TMPL1',
      wifi: fake,
      activation: fake,
    });
    bluetooth.devices.push(new FakeWebDevice({ handler, id: 'esp', name: 'PROV_ESP', serviceUuid: SERVICE }));
    const transport = new WebBluetoothTransport({ bluetooth });
    const link = await transport.connect((await transport.choose('PROV_')).address);
    const client = new ProtocommClient(link, { crypto: webCrypto });
    expect(await client.establishSession({ pop: 'abcd1234' })).toBe(2);
    expect(await client.activate({ token: 'tok', brokerUrl: 'mqtt://gw:1883', templateId: 'TMPL1' })).toEqual(
      {
        hardwareId: 'esp32-a1b2c3',
      },
    );
    await client.close();
  });
});
