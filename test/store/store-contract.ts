/**
 * The storage contract, run against every Store implementation (the embedded JSON store today,
 * PostgreSQL later): same records in, same answers out, same refusals.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import type { Device, Org, User } from '../../gateway/store/types.js';
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

export function storeContract(name: string, make: () => Promise<Store>): void {
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
  });
}
