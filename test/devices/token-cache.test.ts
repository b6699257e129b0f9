/**
 * The per-node token cache: a token seen before costs no store query; it is bounded by count and
 * age; and it never answers for a token that was revoked, replaced or deleted (forgotten), for a
 * lookup that raced such a change, or while the node cannot hear of changes made elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { Auditor } from '../../gateway/audit.js';
import { DeviceService } from '../../gateway/devices/device-service.js';
import { TokenCache } from '../../gateway/devices/token-cache.js';
import { LocalEventBus } from '../../gateway/events.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { ManualClock } from '../../shared/clock.js';
import { sha256Hex } from '../../shared/ids.js';
import { silentLogger } from '../../shared/logger.js';
import { device } from '../store/store-contract.js';

describe('TokenCache', () => {
  it('remembers a token until it is forgotten, the least recently used first beyond its bound', () => {
    const cache = new TokenCache({ clock: new ManualClock(), maxEntries: 2 });
    expect(cache.remember('h1', 'dev_1', cache.epoch)).toBe(true);
    expect(cache.remember('h2', 'dev_2', cache.epoch)).toBe(true);
    expect(cache.get('h1')).toBe('dev_1'); // h2 is now the least recently used
    cache.remember('h3', 'dev_3', cache.epoch);
    expect(cache.size).toBe(2);
    expect([cache.get('h1'), cache.get('h2'), cache.get('h3')]).toEqual(['dev_1', undefined, 'dev_3']);
    cache.forgetDevice('dev_1');
    expect(cache.get('h1')).toBeUndefined();
  });

  it("replaces a device's old token when it learns a new one", () => {
    const cache = new TokenCache({ clock: new ManualClock() });
    cache.remember('old', 'dev_1', cache.epoch);
    cache.remember('new', 'dev_1', cache.epoch);
    expect(cache.get('old')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.forgetDevice('dev_1');
    expect(cache.get('new')).toBeUndefined();
  });

  it('does not remember a lookup that began before a token was forgotten', () => {
    const cache = new TokenCache({ clock: new ManualClock() });
    const before = cache.epoch;
    cache.forgetDevice('dev_9'); // any device: the lookup's answer may predate the change
    expect(cache.remember('h1', 'dev_1', before)).toBe(false);
    expect(cache.get('h1')).toBeUndefined();
  });

  it('reads a token again once its entry is older than maxAgeMs', async () => {
    const clock = new ManualClock();
    const cache = new TokenCache({ clock, maxAgeMs: 1_000 });
    cache.remember('h1', 'dev_1', cache.epoch);
    await clock.advance(1_000);
    expect(cache.get('h1')).toBe('dev_1');
    await clock.advance(1);
    expect(cache.get('h1')).toBeUndefined();
  });

  it('answers and learns nothing while untrusted (Redis away), and clear() forgets everything', () => {
    let trusted = true;
    const cache = new TokenCache({ clock: new ManualClock(), trusted: () => trusted });
    cache.remember('h1', 'dev_1', cache.epoch);
    cache.remember('h2', 'dev_2', cache.epoch);
    trusted = false;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.remember('h3', 'dev_3', cache.epoch)).toBe(false);
    trusted = true;
    expect(cache.get('h2')).toBe('dev_2');
    cache.clear();
    expect(cache.get('h2')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('DeviceService.authenticateConnection with a token cache', () => {
  async function setup() {
    const clock = new ManualClock();
    const store = new EmbeddedStore({ clock });
    await store.open();
    const tokens = new TokenCache({ clock });
    const devices = new DeviceService({
      store,
      clock,
      events: new LocalEventBus(silentLogger()),
      auditor: new Auditor(store, clock),
      logger: silentLogger(),
      tokens,
    });
    let lookups = 0;
    /** Runs before the store answers a lookup (a change that lands while the query is in flight). */
    let during: (() => Promise<void>) | undefined;
    const byTokenHash = store.devices.byTokenHash.bind(store.devices);
    store.devices.byTokenHash = async (hash) => {
      lookups++;
      const answer = await byTokenHash(hash);
      const hook = during;
      during = undefined;
      await hook?.();
      return answer;
    };
    await store.devices.insert({ ...device('dev_1', sha256Hex('token-1')), status: 'active' });
    return {
      store,
      devices,
      tokens,
      lookups: () => lookups,
      whileLooking: (fn: () => Promise<void>) => {
        during = fn;
      },
    };
  }

  it('asks the store once for a token, and not again on the next connection', async () => {
    const { devices, lookups, store } = await setup();
    expect(await devices.authenticateConnection('token-1')).toMatchObject({ id: 'dev_1' });
    expect(await devices.authenticateConnection('token-1')).toEqual({ id: 'dev_1' });
    expect(lookups()).toBe(1);
    await store.close();
  });

  it('refuses a revoked token at once after forgetToken, from the store', async () => {
    const { devices, lookups, store } = await setup();
    await devices.authenticateConnection('token-1');
    await store.devices.update('dev_1', { status: 'revoked' });
    devices.forgetToken('dev_1');
    await expect(devices.authenticateConnection('token-1')).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(lookups()).toBe(2);
    await store.close();
  });

  it('asks again when a revoke was heard while its lookup was in flight, and remembers nothing', async () => {
    const { devices, tokens, store, whileLooking } = await setup();
    // The store answered "active"; before the answer is used, the revoke is written and heard.
    whileLooking(async () => {
      await store.devices.update('dev_1', { status: 'revoked' });
      devices.forgetToken('dev_1');
    });
    await expect(devices.authenticateConnection('token-1')).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(tokens.size).toBe(0);
    await store.close();
  });

  it('never remembers a pending device (its session can expire) nor an unknown token', async () => {
    const { devices, tokens, store, lookups } = await setup();
    await store.devices.insert({
      ...device('dev_2', sha256Hex('token-2')),
      status: 'pending',
      provisioningExpiresAt: Number.MAX_SAFE_INTEGER,
    });
    await devices.authenticateConnection('token-2');
    await devices.authenticateConnection('token-2');
    await expect(devices.authenticateConnection('no-such-token')).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    });
    expect(tokens.size).toBe(0);
    expect(lookups()).toBe(3);
    await store.close();
  });
});
