/**
 * Telemetry (latest values, last seen) reaches the file on its own slower schedule: each write
 * re-serializes the whole database (≈53 ms at 10k devices here), so continuous telemetry must not
 * trigger one every flush window; a normal change still flushes on time and carries it along.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { ManualClock } from '../../shared/clock.js';
import { device } from '../store/store-contract.js';

describe('telemetry writes', () => {
  let dir: string;
  let clock: ManualClock;
  let store: EmbeddedStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-telemetry-'));
    clock = new ManualClock(1_000);
    store = new EmbeddedStore({
      file: join(dir, 'db.json'),
      flushDelayMs: 100,
      telemetryFlushDelayMs: 5000,
      clock,
    });
    await store.open();
    await store.devices.insert(device('dev_1', 'hash_1'));
    await clock.advance(100);
    await store.flush();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const stored = async () =>
    (
      JSON.parse(await readFile(join(dir, 'db.json'), 'utf8')) as {
        devices: Array<{ values: Record<string, unknown> }>;
      }
    ).devices[0]!.values;

  it('waits the telemetry window, however many values arrive', async () => {
    const before = store.writeCount;
    for (let i = 0; i < 1000; i++) {
      await store.devices.update('dev_1', { values: { temp: { value: i, at: i } } }, { telemetry: true });
    }
    await clock.advance(4_900);
    expect(store.writeCount).toBe(before);
    await clock.advance(100);
    await store.flush();
    expect(store.writeCount).toBe(before + 1);
    expect(await stored()).toEqual({ temp: { value: 999, at: 999 } });
  });

  it('lets a normal change bring the write forward, carrying the telemetry with it', async () => {
    const before = store.writeCount;
    await store.devices.update('dev_1', { values: { temp: { value: 1, at: 1 } } }, { telemetry: true });
    await clock.advance(50);
    await store.devices.update('dev_1', { name: 'renamed' });
    await clock.advance(100);
    await store.flush();
    expect(store.writeCount).toBe(before + 1);
    expect(await stored()).toEqual({ temp: { value: 1, at: 1 } });
    await clock.advance(10_000);
    expect(store.writeCount).toBe(before + 1);
  });
});
