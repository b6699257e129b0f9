/**
 * The simulated BLE "air": a folder shared by every process on one machine. A peripheral that
 * advertises writes `<address>.json` (its advertisement) and listens on `<address>.sock`; a
 * central scans by reading the records and connects to the socket. Records of peripherals that
 * died without cleaning up (crash, SIGKILL) are dropped by the next scan, as a real scanner simply
 * stops hearing them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TetherError } from '../../shared/errors.js';

export const defaultSimBleMediumDir = (): string => join(tmpdir(), 'tether-ble-medium');

/** What a peripheral broadcasts, plus what the simulator needs to reach it. */
export interface SimBleAdvertisement {
  version: 1;
  /** A BLE-style address (random static), also the file name stem. */
  address: string;
  /** The complete local name (ESP-IDF: the device's service name, e.g. PROV_1A2B3C). */
  name: string;
  serviceUuid: string;
  /** Signal strength a central "hears", in dBm. */
  rssi: number;
  /** The largest ATT_MTU the peripheral accepts. */
  mtu: number;
  /** ESP-IDF stops advertising while a central is connected: false hides it from scans. */
  connectable: boolean;
  pid: number;
  /** The characteristics and their 0x2901 names (from GATT discovery on real hardware). */
  characteristics: { uuid: string; userDescription: string }[];
  updatedAt: number;
}

/** Linux sun_path holds 108 bytes including the terminator. */
const MAX_SOCKET_PATH = 107;

const stem = (address: string): string => address.toLowerCase().replaceAll(':', '');

export function simBlePaths(mediumDir: string, address: string): { record: string; socket: string } {
  const base = join(mediumDir, stem(address));
  const socket = `${base}.sock`;
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new TetherError(
      'CONFIG_INVALID',
      `The BLE medium folder "${mediumDir}" is too deep for a Unix socket path; choose a shorter one.`,
    );
  }
  return { record: `${base}.json`, socket };
}

/** A random static address: two most significant bits set (Core Vol 6 Part B 1.3.2.1). */
export function randomStaticAddress(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! | 0xc0) & 0xff;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const isSimBleAddress = (value: string): boolean => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(value);

export async function ensureMedium(mediumDir: string): Promise<void> {
  await mkdir(mediumDir, { recursive: true, mode: 0o700 });
}

/** Replace the record atomically so a scanner never reads half of it. */
export async function writeAdvertisement(mediumDir: string, ad: SimBleAdvertisement): Promise<void> {
  const { record } = simBlePaths(mediumDir, ad.address);
  const temp = `${record}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(ad));
  await rename(temp, record);
}

export async function removeAdvertisement(mediumDir: string, address: string): Promise<void> {
  const { record, socket } = simBlePaths(mediumDir, address);
  await rm(record, { force: true });
  await rm(socket, { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but someone else's; only ESRCH means gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Does something accept connections on the socket? A probe that sends nothing is not a GATT connection. */
export function probeSocket(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (alive: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(alive);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // busy, not dead
    socket.once('connect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(!(error.code === 'ECONNREFUSED' || error.code === 'ENOENT')),
    );
  });
}

function parseAdvertisement(text: string): SimBleAdvertisement | undefined {
  try {
    const ad = JSON.parse(text) as Partial<SimBleAdvertisement>;
    if (
      ad.version !== 1 ||
      typeof ad.address !== 'string' ||
      typeof ad.name !== 'string' ||
      typeof ad.serviceUuid !== 'string' ||
      typeof ad.rssi !== 'number' ||
      typeof ad.mtu !== 'number' ||
      typeof ad.pid !== 'number' ||
      !Array.isArray(ad.characteristics)
    ) {
      return undefined;
    }
    return ad as SimBleAdvertisement;
  } catch {
    return undefined;
  }
}

/**
 * Every live advertisement in the medium. Stale ones (their process is gone or their socket
 * refuses) are removed from the folder so the next scan is cheaper.
 */
export async function readAdvertisements(mediumDir: string): Promise<SimBleAdvertisement[]> {
  let names: string[];
  try {
    names = await readdir(mediumDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  // A peripheral killed in the middle of writeAdvertisement leaves its temporary file behind.
  for (const name of names) {
    const pid = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)?.[1];
    if (pid && !processAlive(Number(pid))) await rm(join(mediumDir, name), { force: true });
  }
  const records = names.filter((n) => n.endsWith('.json'));
  const found = await Promise.all(
    records.map(async (file): Promise<SimBleAdvertisement | undefined> => {
      let text: string;
      try {
        text = await readFile(join(mediumDir, file), 'utf8');
      } catch {
        return undefined; // removed while we looked: the peripheral stopped
      }
      const ad = parseAdvertisement(text);
      if (!ad) return undefined;
      const { socket } = simBlePaths(mediumDir, ad.address);
      const alive = processAlive(ad.pid) && (await probeSocket(socket));
      if (!alive) {
        await removeAdvertisement(mediumDir, ad.address).catch(() => undefined);
        return undefined;
      }
      return ad;
    }),
  );
  return found.filter((ad): ad is SimBleAdvertisement => ad !== undefined);
}
