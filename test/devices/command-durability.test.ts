/**
 * What a command's answer waits for. A datastream write through the API is a command to the
 * device: the latest value it leaves and its device-activity record are telemetry, journaled with
 * the telemetry window, so its 2xx does not wait for an fsync. An account, ownership or
 * configuration change (here a rename) is still on disk before its 2xx. A clean stop writes the
 * window: the command's record is on disk afterwards.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { nodeStoreFiles, type StoreFileHandle, type StoreFiles } from '../../gateway/store/store-files.js';
import { removeAll, tempDir } from '../store/store-files-support.js';
import { startTestGateway } from '../support/gateway-harness.js';
import { activeDevice, createTemplate } from './device-fixtures.js';

/** The real disk, except that while held every fsync of a file waits for release(). */
class HeldSyncFiles implements StoreFiles {
  #held: Promise<void> | undefined;
  #release: (() => void) | undefined;
  /** fsyncs waiting now. */
  waiting = 0;

  hold(): void {
    this.#held = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  release(): void {
    this.#release?.();
    this.#held = undefined;
  }

  read = (path: string) => nodeStoreFiles.read(path);
  list = (dir: string) => nodeStoreFiles.list(dir);
  mkdir = (dir: string) => nodeStoreFiles.mkdir(dir);
  create = async (path: string) => this.#wrap(await nodeStoreFiles.create(path));
  open = async (path: string) => this.#wrap(await nodeStoreFiles.open(path));
  rename = (from: string, to: string) => nodeStoreFiles.rename(from, to);
  link = (from: string, to: string) => nodeStoreFiles.link(from, to);
  unlink = (path: string) => nodeStoreFiles.unlink(path);
  chmod = (path: string, mode: number) => nodeStoreFiles.chmod(path, mode);
  syncDir = (dir: string) => nodeStoreFiles.syncDir(dir);

  #wrap(handle: StoreFileHandle): StoreFileHandle {
    return {
      write: (data, position) => handle.write(data, position),
      datasync: async () => {
        const held = this.#held;
        if (held) {
          this.waiting++;
          await held;
          this.waiting--;
        }
        return handle.datasync();
      },
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
    };
  }
}

describe('a command through the API', () => {
  const dirs: string[] = [];
  afterAll(() => removeAll(dirs));

  it('answers without waiting for an fsync, while a rename waits for its own; both on disk after a clean stop', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const files = new HeldSyncFiles();
    const store = new EmbeddedStore({
      file: join(dir, 'tether.json'),
      files,
      telemetryFlushDelayMs: 600_000,
    });
    const gw = await startTestGateway({}, { dataDir: dir, keepData: true, store });
    const admin = await gw.login();
    const { deviceId } = await activeDevice(gw, admin, await createTemplate(gw, admin));

    files.hold();
    const writesBefore = store.writeCount;
    const command = await gw.api('PUT', `/api/devices/${deviceId}/datastreams/power`, { value: 1 }, admin);
    expect(command.status, JSON.stringify(command.body)).toBe(200);
    // Readable at once, though not journaled yet.
    const activity = await gw.api<{ events: Array<{ action: string }> }>(
      'GET',
      `/api/audit?log=devices&targetId=${deviceId}`,
      undefined,
      admin,
    );
    expect(activity.body.events.map((e) => e.action)).toEqual(['device.datastream-written']);
    expect(store.writeCount).toBe(writesBefore);
    expect(files.waiting).toBe(0);

    // A rename is journaled and fsynced before its answer: held here until the disk is let go.
    let renamed: number | undefined;
    const rename = gw
      .api('PATCH', `/api/devices/${deviceId}`, { name: 'Kitchen heater' }, admin)
      .then((res) => {
        renamed = res.status;
      });
    await expect.poll(() => files.waiting).toBeGreaterThan(0);
    expect(renamed).toBeUndefined();
    files.release();
    await rename;
    expect(renamed).toBe(200);

    await gw.stop();
    const reopened = new EmbeddedStore({ file: join(dir, 'tether.json') });
    await reopened.open();
    expect((await reopened.devices.get(deviceId))?.name).toBe('Kitchen heater');
    expect((await reopened.deviceActivity.list({ targetId: deviceId })).map((e) => e.action)).toEqual([
      'device.datastream-written',
    ]);
    expect((await reopened.audit.list({ targetId: deviceId })).map((e) => e.action)).toContain(
      'device.renamed',
    );
    await reopened.close();
  });
});
