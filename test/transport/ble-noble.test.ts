import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { linuxAdapterPresent, NobleBleTransport } from '../../provisioning/transport/ble-noble.js';
import { SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { SimBlePeripheral } from '../../provisioning/transport/sim-ble-peripheral.js';
import { ManualClock } from '../../shared/clock.js';
import { isTetherError } from '../../shared/errors.js';
import { EchoHandler, expectedEcho } from './echo-handler.js';
import { FakeNoble, FakePeripheral } from './fake-noble.js';
import { describeLinkContract } from './link-contract-cases.js';

const SERVICE = '021a9004-0382-4aea-bff4-6b3f1c5adfb4';
const noAdapterHere = (await linuxAdapterPresent()) === false;

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isTetherError(error)) return { code: error.code, message: error.message };
    return { code: `not a TetherError: ${String(error)}`, message: '' };
  }
  return { code: 'resolved', message: '' };
}

describe('BLE through noble, without Bluetooth hardware', () => {
  const transports: NobleBleTransport[] = [];
  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close();
  });
  const make = (options: ConstructorParameters<typeof NobleBleTransport>[0]) => {
    const t = new NobleBleTransport(options);
    transports.push(t);
    return t;
  };

  it('says NO_BLUETOOTH_ADAPTER when the machine has none (Linux: nothing in /sys/class/bluetooth)', async () => {
    const emptySys = await mkdtemp(join(tmpdir(), 'sys-bt-'));
    try {
      const transport = make({
        sysBluetoothDir: emptySys,
        loadNoble: () => Promise.reject(new Error('must not load')),
      });
      const failure = await errorOf(transport.discover({ timeoutMs: 100 }));
      if (process.platform === 'linux') {
        expect(failure.code).toBe('NO_BLUETOOTH_ADAPTER');
        expect(failure.message).toMatch(/No Bluetooth adapter.*SoftAP/);
      }
      expect((await errorOf(transport.connect('PROV_X'))).code).toBe('NO_BLUETOOTH_ADAPTER');
    } finally {
      await rm(emptySys, { recursive: true, force: true });
    }
  });

  it.runIf(noAdapterHere)(
    'loads the real @stoprocent/noble here and fails cleanly with NO_BLUETOOTH_ADAPTER',
    async () => {
      const transport = make({ checkAdapterPresence: false, powerOnTimeoutMs: 3_000 });
      const failure = await errorOf(transport.discover({ timeoutMs: 100 }));
      expect(failure.code).toBe('NO_BLUETOOTH_ADAPTER');
      // and nothing else in the process is affected: the simulated medium still works
      const mediumDir = await mkdtemp(join(tmpdir(), 'ble-'));
      const peripheral = new SimBlePeripheral({
        handler: new EchoHandler(),
        name: 'PROV_STILL_OK',
        mediumDir,
      });
      await peripheral.start();
      try {
        const link = await new SimBleTransport({ mediumDir }).connect('PROV_STILL_OK');
        expect(await link.exchange('proto-ver', Uint8Array.of(1))).toEqual(
          expectedEcho('proto-ver', Uint8Array.of(1)),
        );
        await link.close();
      } finally {
        await peripheral.stop();
        await rm(mediumDir, { recursive: true, force: true });
      }
    },
  );

  it('turns a noble that throws on import (EAFNOSUPPORT) into NO_BLUETOOTH_ADAPTER, and retries next time', async () => {
    let attempts = 0;
    const transport = make({
      checkAdapterPresence: false,
      loadNoble: async () => {
        attempts++;
        throw Object.assign(new Error('socket: Address family not supported'), { code: 'EAFNOSUPPORT' });
      },
    });
    expect((await errorOf(transport.discover({ timeoutMs: 10 }))).code).toBe('NO_BLUETOOTH_ADAPTER');
    expect((await errorOf(transport.discover({ timeoutMs: 10 }))).code).toBe('NO_BLUETOOTH_ADAPTER');
    expect(attempts).toBe(2);
  });

  it('fails at once on unsupported/unauthorized, and after a timeout when Bluetooth is off', async () => {
    for (const [state, pattern] of [
      ['unsupported', /no Bluetooth LE adapter/],
      ['unauthorized', /Not allowed/],
    ] as const) {
      const noble = new FakeNoble(state);
      const failure = await errorOf(
        make({ checkAdapterPresence: false, loadNoble: async () => noble }).discover({ timeoutMs: 1 }),
      );
      expect(failure.code).toBe('NO_BLUETOOTH_ADAPTER');
      expect(failure.message).toMatch(pattern);
      expect(noble.stopped).toBe(true);
    }
    const clock = new ManualClock();
    const off = new FakeNoble('poweredOff');
    const pending = errorOf(
      make({
        checkAdapterPresence: false,
        loadNoble: async () => off,
        clock,
        powerOnTimeoutMs: 5_000,
      }).discover({ timeoutMs: 1 }),
    );
    await expect.poll(() => off.listenerCount('stateChange')).toBe(1);
    await clock.advance(5_000);
    const failure = await pending;
    expect(failure.code).toBe('NO_BLUETOOTH_ADAPTER');
    expect(failure.message).toMatch(/turned off/);
  });

  it('waits for an adapter that powers on late', async () => {
    const noble = new FakeNoble('poweredOff');
    const transport = make({
      checkAdapterPresence: false,
      loadNoble: async () => noble,
      powerOnTimeoutMs: 2_000,
    });
    const scan = transport.discover({ timeoutMs: 20 });
    setTimeout(() => noble.setState('poweredOn'), 20);
    expect(await scan).toEqual([]);
  });

  it('a binding that throws when it starts is NO_BLUETOOTH_ADAPTER, not a crash', async () => {
    const broken = {
      get state(): string {
        throw Object.assign(new Error('EAFNOSUPPORT'), { code: 'EAFNOSUPPORT' });
      },
      on() {},
      removeListener() {},
      startScanningAsync: async () => undefined,
      stopScanningAsync: async () => undefined,
    };
    const transport = make({ checkAdapterPresence: false, loadNoble: async () => broken });
    expect((await errorOf(transport.discover({ timeoutMs: 1 }))).code).toBe('NO_BLUETOOTH_ADAPTER');
  });
});

describe('BLE through noble, against a fake adapter', () => {
  it('scans for the service, filters by prefix, strongest first; connects by name, id or address', async () => {
    const noble = new FakeNoble();
    const handler = new EchoHandler();
    noble.peripherals.push(
      new FakePeripheral({
        handler,
        name: 'PROV_FAR',
        address: 'aa:00:00:00:00:01',
        rssi: -80,
        serviceUuid: SERVICE,
      }),
      new FakePeripheral({
        handler,
        name: 'PROV_NEAR',
        address: 'aa:00:00:00:00:02',
        rssi: -40,
        serviceUuid: SERVICE,
      }),
      new FakePeripheral({
        handler,
        name: 'LAMP',
        address: 'aa:00:00:00:00:03',
        rssi: -30,
        serviceUuid: SERVICE,
      }),
      new FakePeripheral({
        handler,
        name: 'PROV_OTHER_SERVICE',
        address: 'aa:00:00:00:00:04',
        rssi: -20,
        serviceUuid: '11111111-2222-3333-4444-555555555555',
      }),
    );
    const transport = new NobleBleTransport({
      serviceUuid: SERVICE,
      checkAdapterPresence: false,
      loadNoble: async () => noble,
      scanTimeoutMs: 50,
    });
    const found = await transport.discover({ timeoutMs: 30, namePrefix: 'PROV_' });
    expect(found).toEqual([
      { name: 'PROV_NEAR', transport: 'ble', address: 'aa:00:00:00:00:02', rssi: -40 },
      { name: 'PROV_FAR', transport: 'ble', address: 'aa:00:00:00:00:01', rssi: -80 },
    ]);
    expect(noble.scanning).toBe(false);
    for (const target of ['PROV_NEAR', 'aa0000000002', 'AA:00:00:00:00:02']) {
      const link = await transport.connect(target);
      expect(link.endpoints).toEqual([...handler.endpoints]);
      await link.close();
    }
    expect((await errorOf(transport.connect('PROV_OTHER_SERVICE'))).code).toBe('DEVICE_UNREACHABLE');
    await transport.close();
    expect(noble.stopped).toBe(true);
  });

  it('shows a device-side disconnect as DEVICE_UNREACHABLE', async () => {
    const noble = new FakeNoble();
    const handler = new EchoHandler();
    const p = new FakePeripheral({
      handler,
      name: 'PROV_DROP',
      address: 'aa:00:00:00:00:09',
      rssi: -50,
      serviceUuid: SERVICE,
    });
    noble.peripherals.push(p);
    const transport = new NobleBleTransport({
      checkAdapterPresence: false,
      loadNoble: async () => noble,
      scanTimeoutMs: 50,
    });
    const link = await transport.connect('PROV_DROP');
    await link.exchange('proto-ver', Uint8Array.of(1));
    p.drop();
    expect(link.connected).toBe(false);
    expect((await errorOf(link.exchange('proto-ver', Uint8Array.of(1)))).code).toBe('DEVICE_UNREACHABLE');
    expect((await errorOf(link.exchange('custom-data', new Uint8Array(513)))).code).toBe(
      'DEVICE_UNREACHABLE',
    );
    await transport.close();
  });
});

describeLinkContract('noble adapter over a fake adapter', async (handler) => {
  const noble = new FakeNoble();
  noble.peripherals.push(
    new FakePeripheral({
      handler,
      name: 'PROV_FAKE',
      address: 'aa:00:00:00:00:0a',
      rssi: -50,
      serviceUuid: SERVICE,
    }),
  );
  const transport = new NobleBleTransport({
    checkAdapterPresence: false,
    loadNoble: async () => noble,
    scanTimeoutMs: 30,
  });
  return {
    transport,
    address: 'aa:00:00:00:00:0a',
    unreachableAddress: 'aa:00:00:00:00:ff',
    teardown: () => transport.close(),
  };
});

describe('createBleTransport', () => {
  it('builds the simulated or the noble transport without loading noble', async () => {
    const { createBleTransport } = await import('../../provisioning/transport/ble-transport.js');
    expect(createBleTransport({ medium: 'simulated', mediumDir: '/tmp/x' })).toBeInstanceOf(SimBleTransport);
    const noble = createBleTransport({
      medium: 'noble',
      loadNoble: () => Promise.reject(new Error('not yet')),
    });
    expect(noble).toBeInstanceOf(NobleBleTransport);
    expect(noble.kind).toBe('ble');
  });
});
