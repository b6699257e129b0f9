import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NobleBleTransport } from '../../provisioning/transport/ble-noble.js';
import { WebBluetoothTransport } from '../../provisioning/transport/ble-web.js';
import { SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { SimBlePeripheral } from '../../provisioning/transport/sim-ble-peripheral.js';
import type { ProvisioningLink } from '../../provisioning/transport/transport.js';
import { describeTransportContract } from '../provisioning/transport-contract.js';
import { FakeNoble, FakePeripheral } from './fake-noble.js';
import { FakeWebBluetooth, FakeWebDevice } from './fake-web-bluetooth.js';

// The shared suite sends a 4 KiB message (esp-idf httpd's limit on SoftAP). One BLE characteristic
// holds at most 512 bytes (ATT; esp-idf's own BLE transport: 481), so these harnesses raise the
// limit on both ends to run every case; the real limit is tested in sim-ble.test.ts.
const CONTRACT_VALUE_LIMIT = 8 * 1024;

describeTransportContract('simulated BLE medium (MTU 23)', async (device) => {
  const mediumDir = await mkdtemp(join(tmpdir(), 'ble-'));
  const peripheral = new SimBlePeripheral({
    handler: device,
    name: 'PROV_SHARED',
    mediumDir,
    mtu: 23,
    maxValueLength: CONTRACT_VALUE_LIMIT,
  });
  await peripheral.start();
  const transport = new SimBleTransport({ mediumDir, maxValueLength: CONTRACT_VALUE_LIMIT });
  const links: ProvisioningLink[] = [];
  return {
    connect: async () => {
      const link = await transport.connect(peripheral.address);
      links.push(link);
      return link;
    },
    teardown: async () => {
      for (const link of links) await link.close();
      await peripheral.stop();
      await rm(mediumDir, { recursive: true, force: true });
    },
  };
});

describeTransportContract('noble adapter (fake adapter)', async (device) => {
  const noble = new FakeNoble();
  noble.peripherals.push(
    new FakePeripheral({
      handler: device,
      name: 'PROV_SHARED',
      address: 'aa:00:00:00:00:0b',
      rssi: -50,
      serviceUuid: '021a9004-0382-4aea-bff4-6b3f1c5adfb4',
    }),
  );
  const transport = new NobleBleTransport({
    checkAdapterPresence: false,
    loadNoble: async () => noble,
    scanTimeoutMs: 30,
    maxValueLength: CONTRACT_VALUE_LIMIT,
  });
  const links: ProvisioningLink[] = [];
  return {
    connect: async () => {
      const link = await transport.connect('aa:00:00:00:00:0b');
      links.push(link);
      return link;
    },
    teardown: async () => {
      for (const link of links) await link.close();
      await transport.close();
    },
  };
});

describeTransportContract('Web Bluetooth adapter (fake browser)', async (device) => {
  const bluetooth = new FakeWebBluetooth();
  const serviceUuid = '021a9004-0382-4aea-bff4-6b3f1c5adfb4';
  bluetooth.devices.push(
    new FakeWebDevice({ handler: device, id: 'web-id-1', name: 'PROV_SHARED', serviceUuid }),
  );
  const transport = new WebBluetoothTransport({ bluetooth, maxValueLength: CONTRACT_VALUE_LIMIT });
  const { address } = await transport.choose();
  const links: ProvisioningLink[] = [];
  return {
    connect: async () => {
      const link = await transport.connect(address);
      links.push(link);
      return link;
    },
    teardown: async () => {
      for (const link of links) await link.close();
    },
  };
});
