import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SimBleLink, SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { type SimBleAdvertisement, simBlePaths } from '../../provisioning/transport/sim-ble-medium.js';
import {
  SimBlePeripheral,
  type SimBlePeripheralOptions,
} from '../../provisioning/transport/sim-ble-peripheral.js';
import { isTetherError } from '../../shared/errors.js';
import { EchoHandler, expectedEcho } from './echo-handler.js';
import { describeLinkContract } from './link-contract-cases.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isTetherError(error) ? error.code : `not a TetherError: ${String(error)}`;
  }
  return 'resolved';
}

describeLinkContract('simulated BLE medium', async (handler) => {
  const mediumDir = await mkdtemp(join(tmpdir(), 'ble-'));
  const peripheral = new SimBlePeripheral({ handler, name: 'PROV_CONTRACT', mediumDir });
  await peripheral.start();
  return {
    transport: new SimBleTransport({ mediumDir }),
    address: peripheral.address,
    unreachableAddress: 'c0:00:00:00:00:01',
    async teardown() {
      await peripheral.stop();
      await rm(mediumDir, { recursive: true, force: true });
    },
  };
});

describe('simulated BLE medium', () => {
  let mediumDir: string;
  let handler: EchoHandler;
  const peripherals: SimBlePeripheral[] = [];
  const links: SimBleLink[] = [];

  beforeEach(async () => {
    mediumDir = await mkdtemp(join(tmpdir(), 'ble-'));
    handler = new EchoHandler();
  });

  afterEach(async () => {
    handler.releaseAll();
    for (const link of links.splice(0)) await link.close();
    for (const p of peripherals.splice(0)) await p.stop();
    await rm(mediumDir, { recursive: true, force: true });
  });

  const startPeripheral = async (options: Partial<SimBlePeripheralOptions> & { name: string }) => {
    const p = new SimBlePeripheral({ handler, mediumDir, ...options });
    peripherals.push(p);
    await p.start();
    return p;
  };

  const connect = async (transport: SimBleTransport, address: string) => {
    const link = await transport.connect(address);
    links.push(link);
    return link;
  };

  it('advertises name, RSSI, MTU and the endpoint characteristics with esp-idf UUIDs', async () => {
    const p = await startPeripheral({ name: 'PROV_A1B2C3', rssi: -42, mtu: 185 });
    const ad = p.advertisement!;
    expect(ad).toMatchObject({ name: 'PROV_A1B2C3', rssi: -42, mtu: 185, connectable: true });
    expect(ad.serviceUuid).toBe('021a9004-0382-4aea-bff4-6b3f1c5adfb4');
    expect(ad.characteristics).toContainEqual({
      uuid: '021aff51-0382-4aea-bff4-6b3f1c5adfb4',
      userDescription: 'prov-session',
    });
  });

  it('discovers by name prefix and minimum RSSI, strongest first', async () => {
    await startPeripheral({ name: 'PROV_FAR', rssi: -80 });
    await startPeripheral({ name: 'PROV_NEAR', rssi: -40 });
    await startPeripheral({ name: 'OTHER_THING', rssi: -30 });
    const transport = new SimBleTransport({ mediumDir });

    const all = await transport.discover({ timeoutMs: 0 });
    expect(all.map((d) => d.name)).toEqual(['OTHER_THING', 'PROV_NEAR', 'PROV_FAR']);
    expect(all[0]).toMatchObject({ transport: 'ble', rssi: -30 });

    const prov = await transport.discover({ timeoutMs: 0, namePrefix: 'PROV_' });
    expect(prov.map((d) => d.name)).toEqual(['PROV_NEAR', 'PROV_FAR']);

    const near = await transport.discover({ timeoutMs: 0, namePrefix: 'PROV_', minRssi: -60 });
    expect(near.map((d) => d.name)).toEqual(['PROV_NEAR']);
  });

  it('hears a device that starts advertising during the scan, and a changed RSSI', async () => {
    const transport = new SimBleTransport({ mediumDir, scanIntervalMs: 20 });
    const scan = transport.discover({ timeoutMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    const p = await startPeripheral({ name: 'PROV_LATE', rssi: -70 });
    expect((await scan).map((d) => d.name)).toEqual(['PROV_LATE']);
    await p.setRssi(-45);
    expect((await transport.discover({ timeoutMs: 0 }))[0]?.rssi).toBe(-45);
  });

  it('filters by service UUID', async () => {
    await startPeripheral({ name: 'PROV_X', serviceUuid: '11111111-2222-3333-4444-555555555555' });
    await startPeripheral({ name: 'PROV_Y' });
    const transport = new SimBleTransport({
      mediumDir,
      serviceUuid: '11111111222233334444555555555555',
    });
    expect((await transport.discover({ timeoutMs: 0 })).map((d) => d.name)).toEqual(['PROV_X']);
  });

  it('connects by address or by advertised name, and maps endpoints by user description', async () => {
    const p = await startPeripheral({ name: 'PROV_NAMED' });
    const transport = new SimBleTransport({ mediumDir });
    const byName = await connect(transport, 'PROV_NAMED');
    expect(byName.address).toBe(p.address);
    expect(byName.endpoints).toEqual([...handler.endpoints]);
    await byName.close();
    const byAddress = await connect(transport, p.address.toUpperCase());
    expect(byAddress.name).toBe('PROV_NAMED');
  });

  it('stops advertising while a central is connected and refuses a second one', async () => {
    const p = await startPeripheral({ name: 'PROV_BUSY' });
    const transport = new SimBleTransport({ mediumDir });
    const link = await connect(transport, p.address);
    await link.exchange('proto-ver', bytes('x'));
    await expect.poll(async () => (await transport.discover({ timeoutMs: 0 })).length).toBe(0);
    expect(await codeOf(transport.connect(p.address))).toBe('DEVICE_UNREACHABLE');
    await link.close();
    await expect.poll(async () => (await transport.discover({ timeoutMs: 0 })).length).toBe(1);
  });

  it('negotiates the smaller MTU and chunks a large message both ways (long write, read blob)', async () => {
    await startPeripheral({ name: 'PROV_SMALL_MTU', mtu: 23 });
    const transport = new SimBleTransport({ mediumDir, mtu: 247 });
    const link = await connect(transport, 'PROV_SMALL_MTU');
    expect(link.mtu).toBe(23);
    const request = Uint8Array.from({ length: 490 }, (_, i) => (i * 7) % 256);
    const answer = await link.exchange('custom-data', request);
    expect(handler.requests.at(-1)?.request).toEqual(request);
    expect(answer).toEqual(expectedEcho('custom-data', request));
    // answers of exactly k × (MTU − 1) bytes end with an empty Read Blob
    for (const size of [0, 21, 22, 23, 44, 66, 512]) {
      expect((await link.exchange('big', bytes(String(size)))).length).toBe(size);
    }
  });

  it('refuses a message over the 512-byte attribute limit with PAYLOAD_TOO_LARGE', async () => {
    await startPeripheral({ name: 'PROV_LIMIT' });
    const link = await connect(new SimBleTransport({ mediumDir }), 'PROV_LIMIT');
    expect(await codeOf(link.exchange('custom-data', new Uint8Array(513)))).toBe('PAYLOAD_TOO_LARGE');
    expect(await codeOf(link.exchange('big', bytes('513')))).toBe('PROTOCOL_ERROR');
    expect(await link.exchange('proto-ver', bytes('ok'))).toEqual(expectedEcho('proto-ver', bytes('ok')));
  });

  it('shows a peripheral-side disconnect as DEVICE_UNREACHABLE on the next exchange', async () => {
    const p = await startPeripheral({ name: 'PROV_DROP' });
    const link = await connect(new SimBleTransport({ mediumDir }), p.address);
    await link.exchange('proto-ver', bytes('x'));
    await p.disconnectAll();
    await expect.poll(() => link.connected).toBe(false);
    expect(await codeOf(link.exchange('proto-ver', bytes('x')))).toBe('DEVICE_UNREACHABLE');
    expect(handler.closedSessions).toEqual([handler.requests[0]!.sessionId]);
  });

  it('fails an exchange in flight when the device goes away', async () => {
    const p = await startPeripheral({ name: 'PROV_GONE' });
    const link = await connect(new SimBleTransport({ mediumDir }), p.address);
    const pending = link.exchange('hang', bytes('x'));
    await expect.poll(() => handler.requests.length).toBe(1);
    await p.stop();
    expect(await codeOf(pending)).toBe('DEVICE_UNREACHABLE');
    expect(await readdir(mediumDir)).toEqual([]);
  });

  it('times out a device that does not answer, and closes the link', async () => {
    await startPeripheral({ name: 'PROV_SLOW' });
    const link = await connect(new SimBleTransport({ mediumDir, requestTimeoutMs: 150 }), 'PROV_SLOW');
    expect(await codeOf(link.exchange('hang', bytes('x')))).toBe('TIMEOUT');
    expect(link.connected).toBe(false);
    expect(await codeOf(link.exchange('proto-ver', bytes('x')))).toBe('TIMEOUT');
  });

  it('drops stale advertisements whose process or socket is gone', async () => {
    const transport = new SimBleTransport({ mediumDir });
    const stale = (address: string, pid: number): SimBleAdvertisement => ({
      version: 1,
      address,
      name: `STALE_${pid}`,
      serviceUuid: '021a9004-0382-4aea-bff4-6b3f1c5adfb4',
      rssi: -50,
      mtu: 256,
      connectable: true,
      pid,
      characteristics: [],
      updatedAt: 0,
    });
    // a live pid (ours) but nothing listening on the socket
    const deadSocket = stale('c1:00:00:00:00:01', process.pid);
    await writeFile(simBlePaths(mediumDir, deadSocket.address).record, JSON.stringify(deadSocket));
    // a socket that listens, but the pid in the record is long gone
    const deadPid = stale('c1:00:00:00:00:02', 2 ** 22 + 1);
    const server = createServer();
    await new Promise<void>((resolve) =>
      server.listen(simBlePaths(mediumDir, deadPid.address).socket, resolve),
    );
    await writeFile(simBlePaths(mediumDir, deadPid.address).record, JSON.stringify(deadPid));
    // garbage
    await writeFile(join(mediumDir, 'c10000000003.json'), '{not json');
    try {
      await startPeripheral({ name: 'PROV_LIVE' });
      expect((await transport.discover({ timeoutMs: 0 })).map((d) => d.name)).toEqual(['PROV_LIVE']);
      const left = await readdir(mediumDir);
      expect(left.filter((f) => f.startsWith('c1000000000'))).toEqual(['c10000000003.json']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses to start a second peripheral on an address in use', async () => {
    const p = await startPeripheral({ name: 'PROV_ONE' });
    const twin = new SimBlePeripheral({ handler, mediumDir, name: 'PROV_TWIN', address: p.address });
    expect(await codeOf(twin.start())).toBe('CONFLICT');
  });

  it('removes its files on stop and can start again', async () => {
    const p = await startPeripheral({ name: 'PROV_RESTART' });
    expect((await readdir(mediumDir)).sort()).toHaveLength(2);
    await p.stop();
    expect(await readdir(mediumDir)).toEqual([]);
    await p.start();
    const link = await connect(new SimBleTransport({ mediumDir }), 'PROV_RESTART');
    expect(await link.exchange('proto-ver', bytes('again'))).toEqual(
      expectedEcho('proto-ver', bytes('again')),
    );
  });
});
