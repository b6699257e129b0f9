/**
 * The `online` device filter when more devices are online than one store query may name: the
 * answers (pages in creation order, totals) are those of a plain filter over every device, and no
 * store read carries more than a batch of ids or returns more than a batch of rows.
 */
import { describe, expect, it } from 'vitest';
import type { AuthenticatedActor } from '../../gateway/accounts/auth-service.js';
import { Auditor } from '../../gateway/audit.js';
import { DeviceService } from '../../gateway/devices/device-service.js';
import { LocalPresence } from '../../gateway/devices/presence.js';
import { LocalEventBus } from '../../gateway/events.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import type { FindOptions, Where } from '../../gateway/store/store.js';
import type { Device } from '../../gateway/store/types.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import type { Permission } from '../../shared/permissions.js';
import { device, org } from '../store/store-contract.js';

const BATCH = 3;

async function setup(onlineIndexes: (i: number) => boolean) {
  const clock = new ManualClock();
  const store = new EmbeddedStore({ clock });
  await store.open();
  await store.orgs.insert(org('org_a'));
  await store.orgs.insert(org('org_b'));
  const presence = new LocalPresence();
  const all: Device[] = [];
  for (let i = 0; i < 25; i++) {
    // Creation order differs from id order, so a merge by id would show.
    const d: Device = {
      ...device(`dev_${String(i).padStart(2, '0')}`, `hash_${i}`, i < 20 ? 'org_a' : 'org_b'),
      createdAt: 1000 - i * 7 + (i % 2) * 100,
      ownerId: i % 5 === 0 ? 'usr_owner' : null,
    };
    all.push(d);
    if (onlineIndexes(i)) await presence.arrive(d.id);
  }
  await store.devices.insertMany(all);
  // Every read the service makes, checked: at most a batch of ids named, a batch of rows back.
  const reads: Array<{ ids: number; rows: number; limit: number | undefined }> = [];
  const find = store.devices.find.bind(store.devices);
  store.devices.find = async (where?: Where<Device>, options?: FindOptions<Device>) => {
    const rows = await find(where, options);
    const test = where?.id as { in?: unknown[]; notIn?: unknown[] } | undefined;
    reads.push({ ids: (test?.in ?? test?.notIn ?? []).length, rows: rows.length, limit: options?.limit });
    return rows;
  };
  const service = new DeviceService({
    store,
    clock,
    events: new LocalEventBus(silentLogger()),
    auditor: new Auditor(store, clock),
    logger: silentLogger(),
    presence,
    onlineBatch: BATCH,
  });
  const byCreation = [...all].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  return { store, service, presence, reads, byCreation };
}

const actor = (permission: Permission, userId = 'usr_admin'): AuthenticatedActor =>
  ({
    userId,
    orgId: 'org_a',
    permissions: new Set<Permission>([permission]),
    visibleOrgIds: new Set(['org_a']),
  }) as unknown as AuthenticatedActor;

describe('the online filter past one batch of online devices', () => {
  it('pages the org-wide list by presence exactly as a plain filter would, a batch at a time', async () => {
    // 9 online (7 visible, 2 in another org): more than a batch, fewer than the 20 visible.
    const { service, presence, reads, byCreation } = await setup((i) => i % 3 === 0);
    const admin = actor('devices.org.view');
    const visible = byCreation.filter((d) => d.orgId === 'org_a');
    for (const online of [true, false]) {
      const expected = visible.filter((d) => presence.isOnline(d.id) === online).map((d) => d.id);
      for (const page of [
        {},
        { limit: 2 },
        { limit: 2, offset: 3 },
        { limit: 50, offset: 5 },
        { offset: 1 },
      ]) {
        const answer = await service.pageVisible(admin, { online }, page);
        const offset = page.offset ?? 0;
        const end = page.limit === undefined ? undefined : offset + page.limit;
        expect({ online, page, ids: answer.devices.map((d) => d.id), total: answer.total }).toEqual({
          online,
          page,
          ids: expected.slice(offset, end),
          total: expected.length,
        });
        expect(answer.devices.every((d) => d.online === online)).toBe(true);
      }
    }
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      expect(read.ids).toBeLessThanOrEqual(BATCH);
      expect(read.rows).toBeLessThanOrEqual(BATCH);
    }
  });

  it("walks a person's own devices when they are fewer than the devices online", async () => {
    // 15 of 25 online; the person sees their own 4.
    const { service, presence, reads, byCreation } = await setup((i) => i % 5 !== 1 && i % 5 !== 3);
    const own = actor('devices.own.view', 'usr_owner');
    const mine = byCreation.filter((d) => d.orgId === 'org_a' && d.ownerId === 'usr_owner');
    for (const online of [true, false]) {
      const expected = mine.filter((d) => presence.isOnline(d.id) === online).map((d) => d.id);
      const answer = await service.pageVisible(own, { online }, { limit: 3 });
      expect(answer.devices.map((d) => d.id)).toEqual(expected.slice(0, 3));
      expect(answer.total).toBe(expected.length);
    }
    // No online id went to the store: the person's devices were walked instead.
    expect(reads.every((read) => read.ids === 0 && read.limit === BATCH)).toBe(true);
  });

  it('still names a few online devices in one query', async () => {
    const { service, reads } = await setup((i) => i === 4 || i === 7);
    const answer = await service.pageVisible(actor('devices.org.view'), { online: true });
    expect(answer.devices.map((d) => d.id).sort()).toEqual(['dev_04', 'dev_07']);
    expect(reads).toHaveLength(1);
  });
});
