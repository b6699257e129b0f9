/**
 * `tether doctor`: checks a gateway box and says what to fix, one line per check. Every check
 * reads its facts through DoctorEnv, so a test can show each one passing and failing without
 * changing this machine (a clock in 2001, no Bluetooth adapter, a full disk).
 *
 * A check that fails carries the error code a gateway would fail with (ADDRESS_IN_USE,
 * STORE_INVALID, …), so the command exits with that code's exit code, as every command does.
 * A warning is something to look at that does not stop the gateway (no Bluetooth on a box that
 * never provisions over BLE).
 */
import { statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { NOBLE_PACKAGE } from '../../provisioning/transport/ble-noble.js';
import { findExecutable } from '../../provisioning/transport/wifi-joiner.js';
import type { TetherConfig } from '../../shared/config.js';
import { ERROR_TABLE, type ErrorCode, ExitCode } from '../../shared/errors.js';
import { nodeStoreFiles, type StoreFiles } from '../store/store-files.js';
import { checkClock, timeSynchronized } from './clock-check.js';
import { checkPostgres, checkRedis } from './cluster-checks.js';
import { checkDataFolder, checkStore } from './folder-checks.js';
import { checkMail } from './mail-check.js';
import { checkPorts } from './port-checks.js';
import { checkPublicUrl, checkRadios } from './setting-checks.js';
import { checkTls } from './tls-check.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Short name of what was checked: `port http`, `data folder`, `clock`, … */
  check: string;
  status: CheckStatus;
  /** What was found, in a sentence; for a warning or a failure, also what to do. */
  message: string;
  /** For a failure: the code a gateway would fail with. */
  code?: ErrorCode;
}

/** The machine as the checks see it. Each field has a real default; tests replace some. */
export interface DoctorEnv {
  now(): number;
  files: StoreFiles;
  /** Free bytes for an unprivileged writer on the file system holding `dir`. */
  freeBytes(dir: string): Promise<number>;
  /** Whether the system clock is kept by NTP; undefined where that cannot be told. */
  timeSynchronized(): Promise<boolean | undefined>;
  findExecutable(command: string): Promise<string | undefined>;
  platform: NodeJS.Platform;
  /** Where Linux lists Bluetooth adapters. */
  sysBluetoothDir: string;
  /** Whether the optional Bluetooth library is installed. */
  bluetoothLibrary(): boolean;
  /** How long a network check (a port, the mail server) may take. */
  timeoutMs: number;
}

export function defaultDoctorEnv(): DoctorEnv {
  return {
    now: () => Date.now(),
    files: nodeStoreFiles,
    freeBytes: async (dir) => {
      const s = await statfs(dir);
      return s.bavail * s.bsize;
    },
    timeSynchronized,
    findExecutable: (command) => findExecutable(command),
    platform: process.platform,
    sysBluetoothDir: '/sys/class/bluetooth',
    bluetoothLibrary: () => {
      try {
        createRequire(import.meta.url).resolve(NOBLE_PACKAGE);
        return true;
      } catch {
        return false;
      }
    },
    timeoutMs: 5000,
  };
}

export const ok = (check: string, message: string): CheckResult => ({ check, status: 'ok', message });
export const warn = (check: string, message: string): CheckResult => ({ check, status: 'warn', message });
export const fail = (check: string, code: ErrorCode, message: string): CheckResult => ({
  check,
  status: 'fail',
  message,
  code,
});

/**
 * Runs every check, in the order a person fixes things: settings, disk, store (and the cluster's
 * Redis), network, radios.
 */
export async function runDoctor(
  config: TetherConfig,
  overrides: Partial<DoctorEnv> = {},
): Promise<CheckResult[]> {
  const env = { ...defaultDoctorEnv(), ...overrides };
  const dataDir = resolve(config.dataDir);
  const results: CheckResult[] = [];
  const run = async (check: () => Promise<CheckResult | CheckResult[]>, name: string) => {
    try {
      results.push(...[await check()].flat());
    } catch (error) {
      // A check that breaks is a finding, never a crash of the doctor.
      results.push(fail(name, 'INTERNAL', `could not be checked: ${(error as Error).message}`));
    }
  };
  await run(() => checkClock(dataDir, env), 'clock');
  await run(() => checkDataFolder(dataDir, env), 'data folder');
  const { store, cluster } = config;
  await run(
    () => (store.backend === 'postgres' ? checkPostgres(store.url, env) : checkStore(dataDir, env)),
    'store',
  );
  if (cluster.redisUrl) await run(() => checkRedis(cluster.redisUrl, env), 'cluster');
  await run(() => checkPorts(config, dataDir, env), 'ports');
  await run(() => checkTls(config, env), 'tls');
  await run(() => checkMail(config, dataDir, env), 'mail');
  await run(async () => checkPublicUrl(config), 'public url');
  await run(() => checkRadios(env), 'radios');
  return results;
}

/** The exit code of a doctor run: 0 unless a check failed; then the first failure's code's. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  const failed = results.find((r) => r.status === 'fail');
  return failed ? ERROR_TABLE[failed.code ?? 'INTERNAL'].exit : ExitCode.ok;
}
