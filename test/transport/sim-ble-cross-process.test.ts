import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SimBleLink, SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { isTetherError } from '../../shared/errors.js';
import { expectedEcho } from './echo-handler.js';

const entry = fileURLToPath(new URL('./fixtures/sim-ble-child.ts', import.meta.url));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isTetherError(error) ? error.code : `not a TetherError: ${String(error)}`;
  }
  return 'resolved';
}

/** Resolve with the first stdout line that starts with `prefix`. */
function waitForLine(
  child: ChildProcessWithoutNullStreams,
  prefix: string,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (line) finish(() => resolve(line));
    };
    const onExit = (code: number | null) =>
      finish(() => reject(new Error(`child exited (${code}) before "${prefix}"`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no "${prefix}" within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (then: () => void) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      then();
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

describe('simulated BLE medium across two OS processes', () => {
  let buildDir: string;
  let bundle: string;
  let mediumDir: string;
  let child: ChildProcessWithoutNullStreams | undefined;
  const links: SimBleLink[] = [];

  beforeAll(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'ble-child-'));
    bundle = join(buildDir, 'sim-ble-child.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
    });
  });

  afterAll(async () => {
    await rm(buildDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const link of links.splice(0)) await link.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    await rm(mediumDir, { recursive: true, force: true });
  });

  const startChild = async (env: Record<string, string>): Promise<string> => {
    mediumDir = await mkdtemp(join(tmpdir(), 'ble-'));
    child = spawn(process.execPath, [bundle], {
      env: { ...process.env, SIM_MEDIUM: mediumDir, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const ready = await waitForLine(child, 'READY ');
    return ready.slice('READY '.length).trim();
  };

  it('discovers, connects, exchanges chunked messages and sees both kinds of disconnect', async () => {
    const address = await startChild({ SIM_NAME: 'PROV_OTHER_PROCESS', SIM_RSSI: '-61', SIM_MTU: '23' });
    const transport = new SimBleTransport({ mediumDir });

    const found = await transport.discover({ timeoutMs: 0, namePrefix: 'PROV_' });
    expect(found).toEqual([
      expect.objectContaining({ name: 'PROV_OTHER_PROCESS', address, rssi: -61, transport: 'ble' }),
    ]);

    const link = await transport.connect('PROV_OTHER_PROCESS');
    links.push(link);
    expect(link.mtu).toBe(23);
    const request = Uint8Array.from({ length: 400 }, (_, i) => i % 256);
    expect(await link.exchange('prov-session', request)).toEqual(expectedEcho('prov-session', request));

    // the device drops the link: the next exchange says so
    child!.stdin.write('disconnect\n');
    await waitForLine(child!, 'DISCONNECTED');
    await expect.poll(() => link.connected).toBe(false);
    expect(await codeOf(link.exchange('proto-ver', request))).toBe('DEVICE_UNREACHABLE');

    // connect again, then the device process dies without cleaning up
    const again = await transport.connect(address);
    links.push(again);
    expect(await again.exchange('proto-ver', Uint8Array.of(1, 2))).toEqual(
      expectedEcho('proto-ver', Uint8Array.of(1, 2)),
    );
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await exited;
    await expect.poll(() => again.connected).toBe(false);
    expect(await codeOf(again.exchange('proto-ver', Uint8Array.of(1)))).toBe('DEVICE_UNREACHABLE');

    // its stale advertisement is dropped by the next scan, files and all
    expect(await transport.discover({ timeoutMs: 0 })).toEqual([]);
    expect(await readdir(mediumDir)).toEqual([]);
  });

  it('a stopped device removes its advertisement from the shared medium', async () => {
    await startChild({ SIM_NAME: 'PROV_STOPS' });
    const transport = new SimBleTransport({ mediumDir });
    expect(await transport.discover({ timeoutMs: 0 })).toHaveLength(1);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.stdin.write('stop\n');
    expect(await exited).toBe(0);
    expect(await readdir(mediumDir)).toEqual([]);
  });
});
