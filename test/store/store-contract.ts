/**
 * The storage contract, run against every Store implementation (the embedded JSON store today,
 * PostgreSQL later): same records in, same answers out, same refusals.
 */
import { describe, expect, it } from 'vitest';
import { PlanLimits } from '../../gateway/accounts/plan-limits.js';
import type { FindOptions, Store, StoreTables, Where } from '../../gateway/store/store.js';
import type { AuditEvent, Device, DeviceGrant, Org, Template, User } from '../../gateway/store/types.js';
import { ManualClock } from '../../shared/clock.js';
import { loadConfig } from '../../shared/config.js';
import { isTetherError } from '../../shared/errors.js';

export const org = (id: string, parentId: string | null = null): Org => ({
  id,
  name: id,
  parentId,
  plan: parentId ? null : 'free',
  createdAt: 1,
});

export const user = (id: string, email: string, orgId = 'org_a'): User => ({
  id,
  orgId,
  email,
  name: id,
  type: 'developer',
  roleId: 'admin',
  status: 'active',
  passwordHash: null,
  createdAt: 1,
  sessionsValidAfter: 0,
});

export const device = (id: string, tokenHash: string, orgId = 'org_a'): Device => ({
  id,
  orgId,
  ownerId: null,
  templateId: 'TMPL00000001',
  name: id,
  tokenHash,
  status: 'pending',
  provisioningExpiresAt: null,
  createdBy: null,
  createdAt: 1,
  activatedAt: null,
  activatedBy: null,
  hardwareId: null,
  firmware: null,
  lastSeenAt: null,
  values: {},
});

export const template = (id: string, orgId = 'org_a'): Template => ({
  id,
  orgId,
  name: id,
  datastreams: [],
  hotspotPrefix: 'Tether',
  minSecurity: 2,
  createdAt: 1,
});

export const auditEvent = (id: string, orgId: string, at = 1): AuditEvent => ({
  id,
  at,
  actor: 'system',
  action: 'test',
  targetType: 'org',
  targetId: orgId,
  orgId,
  ip: null,
});

/** What a test may ask of a new store: a small device-activity bound, to see it hold. */
export interface ContractStoreOptions {
  deviceActivityKeep?: number;
}

export function storeContract(name: string, make: (options?: ContractStoreOptions) => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    it('inserts, reads, finds by fields, updates and deletes', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.orgs.insert(org('org_b', 'org_a'));
      expect(await store.orgs.get('org_b')).toMatchObject({ parentId: 'org_a' });
      expect((await store.orgs.find({ parentId: 'org_a' })).map((o) => o.id)).toEqual(['org_b']);
      expect(await store.orgs.count()).toBe(2);
      const renamed = await store.orgs.update('org_b', { name: 'Kitchen' });
      expect(renamed.name).toBe('Kitchen');
      expect(await store.orgs.delete('org_b')).toBe(true);
      expect(await store.orgs.delete('org_b')).toBe(false);
      expect(await store.orgs.get('org_b')).toBeUndefined();
      await store.close();
    });

    it('refuses a second record with the same id or unique field, and changes nothing', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.users.insert(user('usr_1', 'a@example.com'));
      const byId = await store.users.insert(user('usr_1', 'b@example.com')).catch((e: unknown) => e);
      const byEmail = await store.users.insert(user('usr_2', 'a@example.com')).catch((e: unknown) => e);
      expect(isTetherError(byId) && byId.code).toBe('CONFLICT');
      expect(isTetherError(byEmail) && byEmail.code).toBe('CONFLICT');
      expect(await store.users.count()).toBe(1);
      expect((await store.users.byEmail('A@Example.com'))?.id).toBe('usr_1');
      await store.close();
    });

    it('looks a device up by its token hash, and follows a token change at once', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.devices.insert(device('dev_1', 'hash-old'));
      expect((await store.devices.byTokenHash('hash-old'))?.id).toBe('dev_1');
      await store.devices.update('dev_1', { tokenHash: 'hash-new' });
      expect(await store.devices.byTokenHash('hash-old')).toBeUndefined();
      expect((await store.devices.byTokenHash('hash-new'))?.id).toBe('dev_1');
      await store.devices.delete('dev_1');
      expect(await store.devices.byTokenHash('hash-new')).toBeUndefined();
      await store.close();
    });

    it('fails an update of a missing record with NOT_FOUND', async () => {
      const store = await make();
      const error = await store.orgs.update('org_missing', { name: 'x' }).catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe('NOT_FOUND');
      await store.close();
    });

    it('keeps an audit log, newest first, filtered by organization', async () => {
      const store = await make();
      for (const [i, orgId] of ['org_a', 'org_b', 'org_a'].entries()) {
        await store.audit.append({
          id: `evt_${i}`,
          at: i,
          actor: 'system',
          action: 'test',
          targetType: 'org',
          targetId: orgId,
          orgId,
          ip: null,
        });
      }
      expect((await store.audit.list({ orgIds: ['org_a'] })).map((e) => e.id)).toEqual(['evt_2', 'evt_0']);
      expect((await store.audit.list({ limit: 1 })).map((e) => e.id)).toEqual(['evt_2']);
      await store.close();
    });

    it('filters with IN, NOT IN, ranges, null and anyOf, and counts what it finds', async () => {
      const store = await make();
      await store.orgs.insertMany([org('org_a'), org('org_b'), org('org_c')]);
      const rows = [
        { ...device('dev_1', 'h1', 'org_a'), createdAt: 10, ownerId: 'usr_x' },
        { ...device('dev_2', 'h2', 'org_b'), createdAt: 20, status: 'active' as const, activatedAt: 5 },
        { ...device('dev_3', 'h3', 'org_c'), createdAt: 30, makerOrgId: 'org_c' },
        { ...device('dev_4', 'h4', 'org_a'), createdAt: 40, status: 'active' as const, activatedAt: 6 },
      ];
      await store.devices.insertMany(rows);
      const ids = async (where: Where<Device>) => {
        const found = (await store.devices.find(where)).map((d) => d.id);
        expect(await store.devices.count(where)).toBe(found.length);
        return found;
      };
      expect(await ids({ orgId: { in: ['org_a', 'org_c'] } })).toEqual(['dev_1', 'dev_3', 'dev_4']);
      expect(await ids({ orgId: { notIn: ['org_a'] } })).toEqual(['dev_2', 'dev_3']);
      expect(await ids({ orgId: { in: [] } })).toEqual([]);
      expect(await ids({ createdAt: { gt: 10, lte: 30 } })).toEqual(['dev_2', 'dev_3']);
      expect(await ids({ activatedAt: null })).toEqual(['dev_1', 'dev_3']);
      expect(await ids({ activatedAt: { ne: null } })).toEqual(['dev_2', 'dev_4']);
      // An absent optional field is null; ne matches null (it is distinct from every value).
      expect(await ids({ makerOrgId: null })).toEqual(['dev_1', 'dev_2', 'dev_4']);
      expect(await ids({ makerOrgId: { ne: 'org_c' } })).toEqual(['dev_1', 'dev_2', 'dev_4']);
      expect(await ids({ ownerId: { in: ['usr_x'] }, status: 'pending' })).toEqual(['dev_1']);
      expect(
        await ids({ status: 'active', anyOf: [{ orgId: 'org_b' }, { id: { in: ['dev_4', 'dev_1'] } }] }),
      ).toEqual(['dev_2', 'dev_4']);
      expect(await ids({ id: { in: ['dev_3', 'dev_missing'] } })).toEqual(['dev_3']);
      expect(await store.devices.count()).toBe(4);
      await store.close();
    });

    it('orders by a field with ties broken by id, nulls last ascending and first descending', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.devices.insertMany([
        { ...device('dev_b', 'h1'), createdAt: 2, lastSeenAt: 7 },
        { ...device('dev_a', 'h2'), createdAt: 2, lastSeenAt: null },
        { ...device('dev_c', 'h3'), createdAt: 1, lastSeenAt: 9 },
        { ...device('dev_d', 'h4'), createdAt: 3, lastSeenAt: null, name: 'Zed' },
        { ...device('dev_e', 'h5'), createdAt: 3, lastSeenAt: 7, name: 'alpha' },
      ]);
      const order = async (options: FindOptions<Device>) =>
        (await store.devices.find({}, options)).map((d) => d.id);
      expect(await order({})).toEqual(['dev_a', 'dev_b', 'dev_c', 'dev_d', 'dev_e']);
      expect(await order({ orderBy: { field: 'createdAt' } })).toEqual([
        'dev_c',
        'dev_a',
        'dev_b',
        'dev_d',
        'dev_e',
      ]);
      expect(await order({ orderBy: { field: 'createdAt', direction: 'desc' } })).toEqual([
        'dev_e',
        'dev_d',
        'dev_b',
        'dev_a',
        'dev_c',
      ]);
      expect(await order({ orderBy: { field: 'lastSeenAt' } })).toEqual([
        'dev_b',
        'dev_e',
        'dev_c',
        'dev_a',
        'dev_d',
      ]);
      expect(await order({ orderBy: { field: 'lastSeenAt', direction: 'desc' } })).toEqual([
        'dev_d',
        'dev_a',
        'dev_c',
        'dev_e',
        'dev_b',
      ]);
      expect(
        await order({ orderBy: [{ field: 'lastSeenAt' }, { field: 'createdAt', direction: 'desc' }] }),
      ).toEqual(['dev_e', 'dev_b', 'dev_c', 'dev_d', 'dev_a']);
      // Text by code point, not by locale: upper case before lower case.
      expect(
        (await store.devices.find({ createdAt: 3 }, { orderBy: { field: 'name' } })).map((d) => d.name),
      ).toEqual(['Zed', 'alpha']);
      await store.close();
    });

    it('pages with limit and offset, and with a keyset that visits every row once', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      const rows = Array.from({ length: 23 }, (_, i) => ({
        ...device(`dev_${String(i).padStart(2, '0')}`, `h${i}`),
        createdAt: i % 5,
        lastSeenAt: i % 3 === 0 ? null : i,
      }));
      await store.devices.insertMany(rows);
      const orderBy = [
        { field: 'lastSeenAt' as const, direction: 'desc' as const },
        { field: 'createdAt' as const },
      ];
      const all = (await store.devices.find({}, { orderBy })).map((d) => d.id);
      expect(all).toHaveLength(23);
      const page = await store.devices.find({}, { orderBy, limit: 5, offset: 10 });
      expect(page.map((d) => d.id)).toEqual(all.slice(10, 15));
      expect(await store.devices.find({}, { orderBy, limit: 0 })).toEqual([]);
      expect((await store.devices.find({}, { orderBy, offset: 20 })).map((d) => d.id)).toEqual(all.slice(20));
      const walked: string[] = [];
      let after: Device | undefined;
      for (;;) {
        const next = await store.devices.find({}, { orderBy, limit: 4, ...(after ? { after } : {}) });
        walked.push(...next.map((d) => d.id));
        if (next.length < 4) break;
        after = next.at(-1);
      }
      expect(walked).toEqual(all);
      const error = await store.devices.find({}, { limit: -1 }).catch((e: unknown) => e);
      expect(isTetherError(error)).toBe(true);
      await store.close();
    });

    it('answers an org subtree and its ancestors in one call, level by level', async () => {
      const store = await make();
      await store.orgs.insertMany([
        org('org_root'),
        org('org_b', 'org_root'),
        org('org_a', 'org_root'),
        org('org_a2', 'org_a'),
        org('org_a1', 'org_a'),
        org('org_a1x', 'org_a1'),
        org('org_other'),
      ]);
      expect((await store.orgs.subtree('org_root')).map((o) => o.id)).toEqual([
        'org_root',
        'org_a',
        'org_b',
        'org_a1',
        'org_a2',
        'org_a1x',
      ]);
      expect((await store.orgs.subtree('org_a1')).map((o) => o.id)).toEqual(['org_a1', 'org_a1x']);
      expect(await store.orgs.subtree('org_missing')).toEqual([]);
      expect((await store.orgs.ancestors('org_a1x')).map((o) => o.id)).toEqual([
        'org_a1x',
        'org_a1',
        'org_a',
        'org_root',
      ]);
      expect(await store.orgs.ancestors('org_missing')).toEqual([]);
      await store.orgs.update('org_a1', { parentId: 'org_b' });
      expect((await store.orgs.subtree('org_b')).map((o) => o.id)).toEqual(['org_b', 'org_a1', 'org_a1x']);
      await store.close();
    });

    it('keeps grants findable by user and by device, oldest first', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.users.insertMany([user('usr_1', 'one@example.com'), user('usr_2', 'two@example.com')]);
      await store.devices.insertMany([device('dev_1', 'h1'), device('dev_2', 'h2')]);
      const grant = (
        id: string,
        deviceId: string,
        userId: string | null,
        createdAt: number,
      ): DeviceGrant => ({
        id,
        deviceId,
        userId,
        ...(userId ? {} : { email: 'later@example.com' }),
        level: 'view',
        grantedBy: 'usr_1',
        createdAt,
      });
      await store.grants.insertMany([
        grant('grt_c', 'dev_1', 'usr_2', 1),
        grant('grt_a', 'dev_2', 'usr_2', 2),
        grant('grt_b', 'dev_1', null, 3),
      ]);
      expect((await store.grants.forUser('usr_2')).map((g) => g.id)).toEqual(['grt_c', 'grt_a']);
      expect((await store.grants.forDevice('dev_1')).map((g) => g.id)).toEqual(['grt_c', 'grt_b']);
      expect(
        (await store.grants.find({ email: 'later@example.com', userId: null })).map((g) => g.id),
      ).toEqual(['grt_b']);
      await store.grants.update('grt_b', { userId: 'usr_1' });
      expect((await store.grants.forUser('usr_1')).map((g) => g.id)).toEqual(['grt_b']);
      expect(await store.grants.deleteWhere({ deviceId: 'dev_1' })).toBe(2);
      expect((await store.grants.forUser('usr_2')).map((g) => g.id)).toEqual(['grt_a']);
      await store.close();
    });

    it('round-trips every field of a record, and removes a field patched to undefined', async () => {
      const store = await make();
      await store.orgs.insert({ ...org('org_a'), kind: 'partner' });
      const full: Device = {
        ...device('dev_1', 'h1'),
        ownerId: 'usr_1',
        firmware: { ver: '1.2.0', type: 'esp32' },
        claimCodeHash: 'claim',
        makerOrgId: 'org_a',
        meta: { serial: 'A-1' },
        props: { temp: { label: 'Temperature' } },
      };
      await store.devices.insert(full);
      expect(await store.devices.get('dev_1')).toEqual(full);
      expect(await store.orgs.get('org_a')).toEqual({ ...org('org_a'), kind: 'partner' });
      const patched = await store.devices.update('dev_1', { meta: undefined, claimCodeHash: null });
      expect(patched).not.toHaveProperty('meta');
      expect(await store.devices.get('dev_1')).toEqual(patched);
      await store.close();
    });

    it('upserts latest values key by key: concurrent writes of different keys all survive', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.devices.insert({ ...device('dev_1', 'h1'), values: { old: { value: 'x', at: 1 } } });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.devices.putValues('dev_1', { [`v${i}`]: { value: i, at: i } }),
        ),
      );
      const after = await store.devices.putValues('dev_1', { old: null, v3: { value: [1, 2], at: 30 } }, 99);
      const expected: Device['values'] = { v3: { value: [1, 2], at: 30 } };
      for (let i = 0; i < 20; i++) if (i !== 3) expected[`v${i}`] = { value: i, at: i };
      expect(after.values).toEqual(expected);
      expect(after.lastSeenAt).toBe(99);
      expect((await store.devices.get('dev_1'))?.values).toEqual(expected);
      // A name from outside is only ever a key of its own.
      await store.devices.putValues('dev_1', { ['__proto__']: { value: 1, at: 1 } });
      const hostile = (await store.devices.get('dev_1'))!.values;
      expect(Object.hasOwn(hostile, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype);
      const missing = await store.devices.putValues('dev_missing', {}, 1).catch((e: unknown) => e);
      expect(isTetherError(missing) && missing.code).toBe('NOT_FOUND');
      await store.close();
    });

    it('inserts many at once, all or none', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.devices.insert(device('dev_taken', 'h_taken'));
      const error = await store.devices
        .insertMany([device('dev_1', 'h1'), device('dev_2', 'h_taken'), device('dev_3', 'h3')])
        .catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe('CONFLICT');
      expect(await store.devices.count()).toBe(1);
      await store.devices.insertMany([device('dev_1', 'h1'), device('dev_2', 'h2')]);
      expect(await store.devices.count()).toBe(3);
      await store.close();
    });
  });

  describe(`store contract: ${name}: transactions`, () => {
    it('commits every change of a transaction together', async () => {
      const store = await make();
      const result = await store.transaction(async (tx) => {
        await tx.orgs.insert(org('org_a'));
        await tx.users.insert(user('usr_1', 'a@example.com'));
        await tx.devices.insert(device('dev_1', 'hash_1'));
        await tx.devices.update('dev_1', { name: 'Kettle' });
        expect((await tx.devices.byTokenHash('hash_1'))?.name).toBe('Kettle');
        return 'done';
      });
      expect(result).toBe('done');
      expect((await store.devices.get('dev_1'))?.name).toBe('Kettle');
      expect(await store.users.count()).toBe(1);
      await store.close();
    });

    it('undoes every change of a transaction that throws', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.users.insert(user('usr_1', 'a@example.com'));
      await store.devices.insert(device('dev_1', 'hash_1'));
      const error = await store
        .transaction(async (tx) => {
          await tx.devices.update('dev_1', { tokenHash: 'hash_2', name: 'Moved' });
          await tx.users.delete('usr_1');
          await tx.users.insert(user('usr_2', 'b@example.com'));
          await tx.orgs.insert(org('org_b'));
          await tx.devices.deleteWhere({ orgId: 'org_a' });
          await tx.setMeta({ setupCodeHash: 'x' });
          await tx.audit.append(auditEvent('evt_1', 'org_b'));
          throw new Error('changed my mind');
        })
        .catch((e: unknown) => e);
      expect((error as Error).message).toBe('changed my mind');
      expect((await store.devices.byTokenHash('hash_1'))?.name).toBe('dev_1');
      expect(await store.devices.byTokenHash('hash_2')).toBeUndefined();
      expect((await store.users.byEmail('a@example.com'))?.id).toBe('usr_1');
      expect(await store.users.byEmail('b@example.com')).toBeUndefined();
      expect(await store.orgs.get('org_b')).toBeUndefined();
      expect((await store.getMeta()).setupCodeHash).toBeNull();
      expect(await store.audit.list()).toEqual([]);
      await store.close();
    });

    it('rolls back a transaction whose write is refused, keeping what came before it', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.users.insert(user('usr_1', 'a@example.com'));
      const error = await store
        .transaction(async (tx) => {
          await tx.orgs.insert(org('org_b'));
          await tx.users.insert(user('usr_2', 'a@example.com'));
        })
        .catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe('CONFLICT');
      expect(await store.orgs.get('org_b')).toBeUndefined();
      expect(await store.orgs.count()).toBe(1);
      await store.close();
    });

    it('lets no two transactions both take the last place (check, then insert)', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      const LIMIT = 3;
      const takePlace = (i: number) =>
        store.transaction(async (tx) => {
          const used = await tx.devices.count({ orgId: 'org_a' });
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (used >= LIMIT) throw new Error('full');
          await tx.devices.insert(device(`dev_${i}`, `hash_${i}`));
        });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => takePlace(i)));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(LIMIT);
      expect(await store.devices.count({ orgId: 'org_a' })).toBe(LIMIT);
      await store.close();
    });

    it("keeps each org's count exact through concurrent inserts, deletes and moves", async () => {
      const store = await make();
      for (const id of ['org_a', 'org_b', 'org_c']) await store.orgs.insert(org(id));
      const orgOf = (i: number) => ['org_a', 'org_b', 'org_c'][i % 3]!;
      // Many writers at once, on their own and in transactions: inserts, bulk inserts, deletes,
      // deletes by filter and moves between orgs (devices, users and templates alike).
      await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          await store.devices.insert(device(`dev_${i}`, `hash_${i}`, orgOf(i)));
          await store.users.insert(user(`usr_${i}`, `u${i}@example.com`, orgOf(i + 1)));
          await store.templates.insert(template(`TMPL${String(i).padStart(8, '0')}`, orgOf(i + 2)));
          if (i % 4 === 0) await store.devices.delete(`dev_${i}`);
          if (i % 4 === 1) await store.devices.update(`dev_${i}`, { orgId: 'org_a' });
          if (i % 4 === 2) {
            await store.transaction(async (tx) => {
              await tx.devices.insertMany([
                device(`dev_tx_${i}a`, `hash_tx_${i}a`, orgOf(i)),
                device(`dev_tx_${i}b`, `hash_tx_${i}b`, orgOf(i + 1)),
              ]);
              await tx.users.update(`usr_${i}`, { orgId: 'org_b' });
              await tx.templates.delete(`TMPL${String(i).padStart(8, '0')}`);
            });
          }
        }),
      );
      await store.devices.deleteWhere({ orgId: 'org_c', name: { in: ['dev_5', 'dev_tx_2b', 'dev_8'] } });
      for (const [table, repo] of [
        ['devices', store.devices],
        ['users', store.users],
        ['templates', store.templates],
      ] as const) {
        for (const orgId of ['org_a', 'org_b', 'org_c']) {
          const counted = await repo.count({ orgId });
          expect({ table, orgId, n: await repo.countInOrgs([orgId]) }).toEqual({ table, orgId, n: counted });
        }
        // An org given twice counts once; an org with nothing (or none at all) counts 0.
        expect(await repo.countInOrgs(['org_a', 'org_b', 'org_a', 'org_nothing'])).toBe(
          (await repo.count({ orgId: 'org_a' })) + (await repo.count({ orgId: 'org_b' })),
        );
        expect(await repo.countInOrgs([])).toBe(0);
      }
      expect(await store.devices.countInOrgs(['org_a', 'org_b', 'org_c'])).toBe(await store.devices.count());
      await store.close();
    });

    it("counts a transaction's own changes inside it, and none of them after it rolls back", async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.orgs.insert(org('org_b'));
      await store.devices.insertMany([
        device('dev_1', 'h1'),
        device('dev_2', 'h2'),
        device('dev_3', 'h3', 'org_b'),
      ]);
      const error = await store
        .transaction(async (tx) => {
          await tx.devices.insert(device('dev_4', 'h4'));
          await tx.devices.delete('dev_3');
          await tx.devices.update('dev_1', { orgId: 'org_b' });
          expect(await tx.devices.countInOrgs(['org_a'])).toBe(2);
          expect(await tx.devices.countInOrgs(['org_b'])).toBe(1);
          await tx.devices.deleteWhere({ orgId: 'org_a' });
          expect(await tx.devices.countInOrgs(['org_a', 'org_b'])).toBe(1);
          throw new Error('changed my mind');
        })
        .catch((e: unknown) => e);
      expect((error as Error).message).toBe('changed my mind');
      expect(await store.devices.countInOrgs(['org_a'])).toBe(2);
      expect(await store.devices.countInOrgs(['org_b'])).toBe(1);
      // A refused write rolls its transaction back too.
      const refused = await store
        .transaction(async (tx) => {
          await tx.devices.insert(device('dev_5', 'h5'));
          await tx.devices.insert(device('dev_6', 'h1'));
        })
        .catch((e: unknown) => e);
      expect(isTetherError(refused) && refused.code).toBe('CONFLICT');
      expect(await store.devices.countInOrgs(['org_a'])).toBe(2);
      await store.close();
    });

    it('enforces a plan limit exactly: of 8 requests racing for the last place, one gets it', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      await store.orgs.insert(org('org_sub', 'org_a'));
      const config = loadConfig({ env: {}, file: undefined, overrides: {} });
      config.plans.free.devices = 5;
      const plans = new PlanLimits({ store, config, clock: new ManualClock(1000) });
      await store.devices.insertMany([
        device('dev_1', 'h1'),
        device('dev_2', 'h2'),
        device('dev_3', 'h3', 'org_sub'),
        device('dev_4', 'h4', 'org_sub'),
      ]);
      const take = (i: number) =>
        store.transaction(async (tx) => {
          await plans.assertWithin(i % 2 ? 'org_a' : 'org_sub', 'devices', 1, tx);
          await tx.devices.insert(device(`dev_new_${i}`, `h_new_${i}`, i % 2 ? 'org_a' : 'org_sub'));
        });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => take(i)));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const codes = outcomes.flatMap((o) =>
        o.status === 'rejected' ? [(o.reason as { code?: string }).code] : [],
      );
      expect(new Set(codes)).toEqual(new Set(['PLAN_LIMIT']));
      expect(await store.devices.count()).toBe(5);
      expect(await plans.usage('org_a', 'devices')).toBe(5);
      await store.close();
    });

    it('refuses the tables of a finished transaction', async () => {
      const store = await make();
      let leaked: StoreTables | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });
      const error = await leaked!.orgs.insert(org('org_late')).catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe('INTERNAL');
      expect(await store.orgs.get('org_late')).toBeUndefined();
      await store.close();
    });

    it('filters the audit log by the org path written with each event, action, actor and time', async () => {
      const store = await make();
      const event = (i: number, action: string, actor: string, orgPath: string[]) =>
        store.audit.append({
          id: `evt_${i}`,
          at: 1000 + i,
          actor,
          action,
          targetType: 'org',
          targetId: orgPath[0]!,
          orgId: orgPath[0]!,
          orgPath,
          ip: null,
        });
      await event(0, 'user.created', 'usr_a', ['org_child', 'org_root']);
      await event(1, 'user.deleted', 'usr_b', ['org_child', 'org_root']);
      await event(2, 'org.deleted', 'usr_a', ['org_root']);
      await event(3, 'user.created', 'usr_a', ['org_other']);
      const ids = async (query: Parameters<typeof store.audit.list>[0]) =>
        (await store.audit.list(query)).map((e) => e.id);
      // org_child is gone from the tree: its events stay readable from above through their paths.
      expect(await ids({ within: 'org_root' })).toEqual(['evt_2', 'evt_1', 'evt_0']);
      expect(await ids({ within: 'org_child' })).toEqual(['evt_1', 'evt_0']);
      expect(await ids({ within: 'org_root', action: 'user.' })).toEqual(['evt_1', 'evt_0']);
      expect(await ids({ within: 'org_root', action: 'user.created' })).toEqual(['evt_0']);
      expect(await ids({ within: 'org_root', actor: 'usr_a' })).toEqual(['evt_2', 'evt_0']);
      expect(await ids({ within: 'org_root', since: 1001, until: 1002 })).toEqual(['evt_2', 'evt_1']);
      await store.close();
    });

    it('keeps device activity apart from the audit log', async () => {
      const store = await make();
      await store.deviceActivity.append({
        id: 'evt_cmd',
        at: 1,
        actor: 'usr_a',
        action: 'device.datastream-written',
        targetType: 'device',
        targetId: 'dev_1',
        orgId: 'org_a',
        orgPath: ['org_a'],
        ip: null,
      });
      expect(await store.audit.list()).toEqual([]);
      expect((await store.deviceActivity.list({ within: 'org_a' })).map((e) => e.id)).toEqual(['evt_cmd']);
      await store.close();
    });

    it('bounds the device-activity log, oldest out first, and never trims the audit log by count', async () => {
      const store = await make({ deviceActivityKeep: 10 });
      const event = (id: string, at: number, action: string): AuditEvent => ({
        id,
        at,
        actor: 'usr_a',
        action,
        targetType: 'device',
        targetId: 'dev_1',
        orgId: 'org_a',
        orgPath: ['org_a'],
        ip: null,
      });
      for (let i = 0; i < 40; i++) {
        await store.deviceActivity.append(event(`cmd_${i}`, i, 'device.datastream-written'));
        await store.audit.append(event(`evt_${i}`, i, 'device.renamed'));
      }
      const activity = (await store.deviceActivity.list({ limit: 1000 })).map((e) => e.id);
      // Newest first; a backend may trim in steps, but never past twice its bound.
      expect(activity.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `cmd_${39 - i}`));
      expect(activity.length).toBeGreaterThanOrEqual(10);
      expect(activity.length).toBeLessThanOrEqual(20);
      expect(await store.audit.list({ limit: 1000 })).toHaveLength(40);
      await store.close();
    });

    it('filters device activity as it filters the audit log, and dumps both logs apart', async () => {
      const store = await make();
      await store.orgs.insert(org('org_a'));
      const event = (id: string, at: number, action: string, targetId: string): AuditEvent => ({
        id,
        at,
        actor: 'usr_a',
        action,
        targetType: 'device',
        targetId,
        orgId: 'org_a',
        orgPath: ['org_a'],
        ip: null,
      });
      await store.deviceActivity.append(event('cmd_1', 10, 'device.datastream-written', 'dev_1'));
      await store.deviceActivity.append(event('cmd_2', 20, 'device.reboot-requested', 'dev_2'));
      await store.audit.append(event('evt_1', 15, 'device.renamed', 'dev_1'));
      const ids = async (query: Parameters<typeof store.audit.list>[0]) =>
        (await store.deviceActivity.list(query)).map((e) => e.id);
      expect(await ids({ targetId: 'dev_1' })).toEqual(['cmd_1']);
      expect(await ids({ action: 'device.reboot-requested' })).toEqual(['cmd_2']);
      expect(await ids({ within: 'org_a', since: 15 })).toEqual(['cmd_2']);
      const parts = { audit: [] as string[], activity: [] as string[] };
      for await (const part of store.dump()) {
        if (part.kind === 'audit' || part.kind === 'activity')
          parts[part.kind].push(...part.events.map((e) => e.id));
      }
      expect(parts).toEqual({ audit: ['evt_1'], activity: ['cmd_1', 'cmd_2'] });
      await store.close();
    });
  });
}
