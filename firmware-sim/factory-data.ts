/**
 * What a device leaves the factory with: a hardware id, its product (template), the proof of
 * possession printed on its label, and the QR payload Espressif's provisioning apps read.
 * A device that offers only security 2 keeps the SRP salt and verifier, not the PoP.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeviceSecurityConfig } from '../provisioning/protocol/security/security-factory.js';
import { makeSrpVerifier } from '../provisioning/protocol/security/srp-verifier.js';

export interface FactoryData {
  /** MAC-like hardware id, e.g. "24:6F:28:1A:2B:3C". */
  hardwareId: string;
  templateId: string;
  /** The advertised name, e.g. "PROV_1A2B3C" (hotspot prefix + last MAC bytes). */
  name: string;
  /** Proof of possession; the label's secret. */
  pop: string;
  firmware: { ver: string; build: string; type: string };
}

export interface QrPayload {
  ver: 'v1';
  name: string;
  pop: string;
  transport: 'softap' | 'ble';
  /** Espressif apps accept `security` (0/1/2) in the payload. */
  security?: 0 | 1 | 2;
}

/** Deterministic when `random` is seeded (fleets), otherwise from the OS CSPRNG. */
export function makeFactoryData(input: {
  templateId: string;
  hotspotPrefix?: string;
  random?: () => number;
  /** The six octets of the MAC, as a maker assigns them (fleets: fleetMacAddress). */
  mac?: readonly number[];
  pop?: string;
  firmware?: Partial<FactoryData['firmware']>;
}): FactoryData {
  const bytes = input.random
    ? Buffer.from(Array.from({ length: 14 }, () => Math.floor(input.random!() * 256)))
    : randomBytes(14);
  // Espressif's OUI keeps the ids looking like real ESP32 MACs.
  const mac = input.mac ?? [0x24, 0x6f, 0x28, bytes[0]!, bytes[1]!, bytes[2]!];
  const hardwareId = mac.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const suffix = mac
    .slice(3)
    .map((b) => b.toString(16).padStart(2, '0').toUpperCase())
    .join('');
  const popAlphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const pop =
    input.pop ?? [...bytes.subarray(3, 13)].map((b) => popAlphabet[b % popAlphabet.length]).join('');
  return {
    hardwareId,
    templateId: input.templateId,
    name: `${input.hotspotPrefix ?? 'PROV'}_${suffix}`,
    pop,
    firmware: { ver: '1.0.0', build: '2026-11-28', type: input.templateId, ...input.firmware },
  };
}

/** Devices one fleet run can hold: the low 20 bits of a fleet MAC's number. */
export const FLEET_MAX_DEVICES = 2 ** 20;
/** Fleet seeds run 0 … 2^26 − 1: the upper 26 bits of a fleet MAC's number. */
export const FLEET_MAX_SEED = 2 ** 26 - 1;

/** A bijection on 46-bit numbers: a four-round Feistel network over two 23-bit halves. */
function scramble46(value: number): [number, number] {
  const HALF = 0x800000; // 2^23
  let left = Math.floor(value / HALF);
  let right = value % HALF;
  for (let round = 0; round < 4; round++) {
    let h = Math.imul(right ^ (round * 0x9e3779b9), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    [left, right] = [right, (left ^ (h >>> 9)) & (HALF - 1)];
  }
  return [left, right];
}

/**
 * The MAC of fleet device `index` of the run seeded `seed`: a locally administered unicast address
 * (IEEE 802: first octet's bit 1 set, bit 0 clear; simulated devices claim no maker's OUI) whose
 * other 46 bits are a one-to-one mix of seed · 2^20 + index. So two fleets started at the same
 * time with different seeds never share a hardware id, and the names taken from its last three
 * octets look as varied as real ones.
 */
export function fleetMacAddress(seed: number, index: number): number[] {
  if (!Number.isInteger(seed) || seed < 0 || seed > FLEET_MAX_SEED)
    throw new RangeError(`fleet seed ${seed} is outside 0…${FLEET_MAX_SEED}`);
  if (!Number.isInteger(index) || index < 0 || index >= FLEET_MAX_DEVICES)
    throw new RangeError(`fleet device index ${index} is outside 0…${FLEET_MAX_DEVICES - 1}`);
  const [high, low] = scramble46(seed * FLEET_MAX_DEVICES + index);
  // 46 bits: six above the two flag bits of the first octet, then five octets.
  return [
    ((high >>> 17) << 2) | 0x02,
    (high >>> 9) & 0xff,
    (high >>> 1) & 0xff,
    ((high & 1) << 7) | (low >>> 16),
    (low >>> 8) & 0xff,
    low & 0xff,
  ];
}

export function qrPayload(
  factory: FactoryData,
  transport: 'softap' | 'ble',
  security: 0 | 1 | 2 = 2,
): QrPayload {
  return { ver: 'v1', name: factory.name, pop: factory.pop, transport, security };
}

/**
 * The factory data of one simulated device, kept in a file so the same hardware comes back on the
 * next run (same hardware id, name and PoP) and finds its flash. Made on first use.
 */
export async function loadOrMakeFactoryData(
  file: string,
  input: Parameters<typeof makeFactoryData>[0],
): Promise<{ factory: FactoryData; created: boolean }> {
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as FactoryData;
    if (stored.hardwareId && stored.templateId === input.templateId)
      return { factory: stored, created: false };
  } catch {
    // no factory record yet (or an unreadable one): manufacture the device
  }
  const factory = makeFactoryData(input);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(factory, null, 2), { mode: 0o600 });
  await rename(tmp, file);
  return { factory, created: true };
}

/**
 * What the device is provisioned with for a security level. Security 2 keeps the SRP salt and
 * verifier made from the label's PoP at manufacture (esp_prov --sec2_gen_cred), never the PoP.
 */
export async function deviceSecurity(factory: FactoryData, level: 0 | 1 | 2): Promise<DeviceSecurityConfig> {
  switch (level) {
    case 0:
      return { version: 0 };
    case 1:
      return { version: 1, pop: factory.pop };
    case 2:
      return { version: 2, credential: await makeSrpVerifier(factory.pop) };
  }
}
