/**
 * Stopping: a gateway stops in bounded time, writes its last telemetry, and says in one line what
 * it could not do: a disk that fails at the end is STORE_UNAVAILABLE naming the devices whose
 * latest values were not written (exit 6), and a part that hangs is named when time runs out.
 * Then the real command: SIGTERM and SIGINT stop `tether gateway start` with exit code 0.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_LIMIT_MS, stopWithin } from '../../gateway/shutdown.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { FaultyStoreFiles } from '../../gateway/store/store-files.js';
import { ExitCode } from '../../shared/errors.js';
import { connectDevice, createTemplate, mint } from '../devices/device-fixtures.js';
import { removeAll, tempDir } from '../store/store-files-support.js';
import { startTestGateway } from '../support/gateway-harness.js';
import { startCli, stopCli } from '../support/run-cli.js';

describe('stopping a gateway', () => {
  const dirs: string[] = [];
  afterAll(() => removeAll(dirs));

  it('writes the last telemetry window on a clean stop', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const gw = await startTestGateway(
      { store: { telemetryFlushDelayMs: 600_000 } },
      { dataDir: dir, keepData: true },
    );
    const admin = await gw.login();
    const [minted] = await mint(gw, admin, await createTemplate(gw, admin));
    const device = await connectDevice(gw.brokerUrl, minted!.token);
    await device.client.publishAsync('ds/temp', '21.5');
    await expect
      .poll(async () => (await gw.gateway.services.store.devices.get(minted!.deviceId))?.values?.temp?.value)
      .toBe(21.5);
    await device.client.endAsync();
    expect(await stopWithin(gw.gateway)).toEqual({ code: ExitCode.ok });

    const copy = new EmbeddedStore({ file: join(dir, 'tether.json') });
    await copy.open();
    expect((await copy.devices.get(minted!.deviceId))?.values?.temp?.value).toBe(21.5);
    await copy.close();
  });

  it('on a full disk: stops anyway, exit code 6, one line naming what was not written', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const files = new FaultyStoreFiles();
    const store = new EmbeddedStore({
      file: join(dir, 'tether.json'),
      files,
      telemetryFlushDelayMs: 600_000,
    });
    const gw = await startTestGateway({}, { dataDir: dir, keepData: true, store });
    const admin = await gw.login();
    const [minted] = await mint(gw, admin, await createTemplate(gw, admin));
    const device = await connectDevice(gw.brokerUrl, minted!.token);
    await device.client.publishAsync('ds/temp', '30');
    await expect.poll(async () => (await store.devices.get(minted!.deviceId))?.values?.temp?.value).toBe(30);
    await device.client.endAsync();

    files.fail('ENOSPC');
    const outcome = await stopWithin(gw.gateway);
    expect(outcome.code).toBe(ExitCode.unavailable);
    expect(outcome.line).toBe(
      'Tether stopped, but writing to the data folder fails (ENOSPC: the disk is full): the latest values and last-seen times of 1 device (the last 600 s of telemetry) were not written.',
    );
    expect(outcome.details).toMatchObject({ code: 'STORE_UNAVAILABLE', unflushed: { telemetryRows: 1 } });
    // Everything was closed all the same: the folder is free for the next start.
    files.heal();
    const next = new EmbeddedStore({ file: join(dir, 'tether.json') });
    await next.open();
    expect(await next.devices.get(minted!.deviceId)).toBeDefined();
    await next.close();
  });

  it('names the part that does not stop in time', async () => {
    const hanging = { stop: () => new Promise<void>(() => undefined), stoppingPart: 'broker' };
    const outcome = await stopWithin(hanging, 50);
    expect(outcome.code).toBe(ExitCode.internal);
    expect(outcome.line).toMatch(/^Tether did not stop within 0\.05 s \(still stopping: broker\)/);
    expect(SHUTDOWN_LIMIT_MS).toBeLessThan(30_000); // inside the systemd unit's TimeoutStopSec
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'tether gateway start stops on %s with exit code 0',
    {
      timeout: 60_000,
    },
    async (signal) => {
      const dir = await tempDir();
      dirs.push(dir);
      const started = await startCli(
        ['gateway', 'start', '--data-dir', join(dir, 'data'), '--http-port', '0', '--mqtt-port', '0'],
        { TETHER_HTTP_HOST: '127.0.0.1', TETHER_MQTT_HOST: '127.0.0.1', TETHER_LOG_LEVEL: 'info' },
        /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/,
        45_000,
      );
      expect(await stopCli(started.child, signal), started.output()).toBe(0);
      expect(started.output()).toContain('gateway stopped');
    },
  );
});
