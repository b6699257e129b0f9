/**
 * Telemetry (latest values, last seen) is the one kind of change the store coalesces: it is
 * applied in memory at once and journaled once per `telemetryFlushDelayMs` window, however many
 * values arrive, so continuous telemetry costs one append per window and a crash loses at most
 * that window of it. The device-activity log (commands sent to devices) goes with the same window.
 * Every other change is on disk before its promise resolves.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { FaultyStoreFiles } from '../../gateway/store/store-files.js';
import type { AuditEvent } from '../../gateway/store/types.js';
import { ManualClock } from '../../shared/clock.js';
import { device, org } from '../store/store-contract.js';
import { crashImage, removeAll, tempDir } from '../store/store-files-support.js';

describe('telemetry writes', () => {
  const dirs: string[] = [];
  let clock: ManualClock;
  let store: EmbeddedStore;

  beforeEach(async () => {
    const dir = await tempDir('tether-telemetry-');
    dirs.push(dir);
    clock = new ManualClock(1_000);
    store = new EmbeddedStore({ file: join(dir, 'tether.json'), telemetryFlushDelayMs: 5000, clock });
    await store.open();
    await store.orgs.insert(org('org_a'));
    await store.devices.insert(device('dev_1', 'hash_1'));
  });
  afterEach(async () => {
    await store.close();
    await removeAll(dirs);
  });

  /** The device as a gateway restarted from a crash image of the folder now would see it. */
  const afterCrash = async () => {
    const copy = await crashImage(dirs[0]!);
    dirs.push(copy);
    const reopened = new EmbeddedStore({ file: join(copy, 'tether.json') });
    await reopened.open();
    const found = await reopened.devices.get('dev_1');
    await reopened.close();
    return found;
  };

  it('journals the window once, however many values arrive, with the latest of each', async () => {
    const before = store.writeCount;
    for (let i = 0; i < 1000; i++) {
      await store.devices.putValues('dev_1', { temp: { value: i, at: i } }, i);
    }
    expect((await store.devices.get('dev_1'))?.values).toEqual({ temp: { value: 999, at: 999 } });
    await clock.advance(4_900);
    expect(store.writeCount).toBe(before);
    expect((await afterCrash())?.values).toEqual({});
    await clock.advance(100);
    await store.committed();
    await expect.poll(() => store.writeCount).toBe(before + 1);
    const recovered = await afterCrash();
    expect(recovered?.values).toEqual({ temp: { value: 999, at: 999 } });
    expect(recovered?.lastSeenAt).toBe(999);
  });

  it('journals a normal change at once, without waiting for the telemetry window', async () => {
    await store.devices.putValues('dev_1', { temp: { value: 1, at: 1 } });
    await store.devices.update('dev_1', { name: 'renamed' });
    const recovered = await afterCrash();
    expect(recovered?.name).toBe('renamed');
    // The rename carries the row as it is, telemetry included.
    expect(recovered?.values).toEqual({ temp: { value: 1, at: 1 } });
  });

  const command = (id: string, at: number): AuditEvent => ({
    id,
    at,
    actor: 'usr_a',
    action: 'device.datastream-written',
    targetType: 'device',
    targetId: 'dev_1',
    orgId: 'org_a',
    orgPath: ['org_a'],
    ip: null,
  });
  /** The device-activity ids a gateway restarted from a crash image of the folder now would see. */
  const activityAfterCrash = async () => {
    const copy = await crashImage(dirs[0]!);
    dirs.push(copy);
    const reopened = new EmbeddedStore({ file: join(copy, 'tether.json') });
    await reopened.open();
    const ids = (await reopened.deviceActivity.list({ limit: 1000 })).map((e) => e.id).reverse();
    await reopened.close();
    return ids;
  };

  it('journals device activity with the window, and the audit log at once', async () => {
    const before = store.writeCount;
    for (let i = 0; i < 100; i++) await store.deviceActivity.append(command(`cmd_${i}`, i));
    // Applied and readable at once, not written.
    expect(await store.deviceActivity.list({ limit: 1 })).toHaveLength(1);
    expect(store.writeCount).toBe(before);
    expect(store.stats().pendingCommits).toBe(0);
    expect(await activityAfterCrash()).toEqual([]);
    await store.audit.append({ ...command('evt_1', 1), action: 'device.renamed' });
    expect(store.writeCount).toBe(before + 1);
    await clock.advance(5_000);
    await expect.poll(() => store.writeCount).toBe(before + 2);
    await store.committed();
    expect(await activityAfterCrash()).toEqual(Array.from({ length: 100 }, (_, i) => `cmd_${i}`));
  });

  it('a compaction inside the window neither loses nor doubles device activity', async () => {
    await store.deviceActivity.append(command('cmd_before', 1));
    await clock.advance(5_000);
    await expect.poll(async () => (await activityAfterCrash()).length).toBe(1);
    await store.deviceActivity.append(command('cmd_pending', 2));
    await store.compact();
    await store.deviceActivity.append(command('cmd_after', 3));
    await clock.advance(5_000);
    await expect.poll(async () => (await activityAfterCrash()).length).toBe(3);
    expect(await activityAfterCrash()).toEqual(['cmd_before', 'cmd_pending', 'cmd_after']);
  });

  it('a clean close writes the window of device activity', async () => {
    await store.deviceActivity.append(command('cmd_1', 1));
    await store.close();
    expect(await activityAfterCrash()).toEqual(['cmd_1']);
    await store.open();
  });

  it('a window the disk refuses keeps its device activity for the next one, in order', async () => {
    const dir = await tempDir('tether-telemetry-');
    dirs.push(dir);
    const files = new FaultyStoreFiles();
    const faulty = new EmbeddedStore({
      file: join(dir, 'tether.json'),
      files,
      telemetryFlushDelayMs: 5000,
      probeIntervalMs: 600_000,
      clock,
    });
    await faulty.open();
    await faulty.deviceActivity.append(command('cmd_1', 1));
    files.fail('EIO');
    await clock.advance(5_000);
    await expect.poll(() => faulty.health().writable).toBe(false);
    await faulty.deviceActivity.append(command('cmd_2', 2));
    files.heal();
    await faulty.close();
    const reopened = new EmbeddedStore({ file: join(dir, 'tether.json') });
    await reopened.open();
    expect((await reopened.deviceActivity.list()).map((e) => e.id).reverse()).toEqual(['cmd_1', 'cmd_2']);
    await reopened.close();
  });

  it('drops the telemetry of a device deleted before its window ends', async () => {
    await store.devices.putValues('dev_1', {}, 5);
    await store.devices.delete('dev_1');
    await clock.advance(5_000);
    await store.committed();
    expect(await afterCrash()).toBeUndefined();
  });
});
