/**
 * Every ownership action a maker or a user needs, and its refusals, against a real gateway:
 * static tokens (mint, claim, disclaim, revoke), transfer, re-provision, delete, rename, the audit
 * trail, and secrets kept only as hashes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  activeDevice,
  addOrg,
  addUser,
  connackCode,
  connectDevice,
  createTemplate,
  mint,
} from './device-fixtures.js';

type Dev = {
  id: string;
  orgId: string;
  ownerId: string | null;
  status: string;
  values: Record<string, unknown>;
};

describe('device ownership lifecycle', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let rootOrg: string;

  beforeEach(async () => {
    gw = await startTestGateway({ devices: { claimMaxFailures: 3, claimBlockMinutes: 1 } });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
    rootOrg = (await gw.gateway.services.store.orgs.find())[0]!.id;
  });
  afterEach(async () => {
    await gw.stop();
  });

  const get = (id: string, token = admin) => gw.api<Dev>('GET', `/api/devices/${id}`, undefined, token);
  const actions = async (targetId: string) =>
    (await gw.gateway.services.store.audit.list({ targetId })).map((e) => e.action);

  it('mints static tokens into the pool with hashed secrets; unclaimed devices may connect', async () => {
    const minted = await mint(gw, admin, templateId, 3);
    expect(minted).toHaveLength(3);
    for (const d of minted) {
      expect(d.token).toHaveLength(32);
      expect(d.claimCode).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){4}$/);
      expect(d.token).not.toBe(d.claimCode);
    }
    expect(minted.map((d) => d.name)).toEqual(['Heater 0001', 'Heater 0002', 'Heater 0003']);
    const pool = await gw.api<{ devices: Dev[] }>('GET', '/api/static-tokens', undefined, admin);
    expect(pool.body.devices.map((d) => d.status)).toEqual(['unclaimed', 'unclaimed', 'unclaimed']);
    expect(pool.body.devices[0]).not.toHaveProperty('claimCodeHash');
    expect(pool.body.devices[0]).not.toHaveProperty('tokenHash');
    // Only hashes at rest: neither secret appears in the database file.
    await gw.gateway.services.store.flush();
    const file = await readFile(join(gw.dataDir, 'tether.json'), 'utf8');
    for (const d of minted) {
      expect(file).not.toContain(d.token);
      expect(file).not.toContain(d.claimCode.replaceAll('-', ''));
    }
    const dev = await connectDevice(gw.brokerUrl, minted[0]!.token);
    await dev.client.publishAsync('ds/temp', '10');
    await expect.poll(async () => (await get(minted[0]!.deviceId)).body.values.temp).toBeDefined();
    expect((await get(minted[0]!.deviceId)).body).toMatchObject({
      status: 'unclaimed',
      orgId: rootOrg,
      ownerId: null,
    });
    await dev.client.endAsync();
    expect(await actions(templateId)).toContain('static-tokens.minted');
  });

  it('claims by code into the claimer’s org; a code works once; guessing is rate-limited', async () => {
    const subOrg = await addOrg(gw, rootOrg, 'Customers');
    const { user, token } = await addUser(gw, { orgId: subOrg });
    const [d] = await mint(gw, admin, templateId);
    // Case and dashes do not matter when a person types the code.
    const typed = d!.claimCode.replaceAll('-', ' ').toLowerCase();
    const claim = await gw.api<Dev>('POST', '/api/claims', { claimCode: typed, name: 'Living room' }, token);
    expect(claim.status, JSON.stringify(claim.body)).toBe(200);
    expect(claim.body).toMatchObject({
      orgId: subOrg,
      ownerId: user.id,
      status: 'active',
      name: 'Living room',
    });
    expect((await get(d!.deviceId, token)).status).toBe(200);
    expect(await actions(d!.deviceId)).toContain('device.claimed');

    const again = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/claims',
      { claimCode: d!.claimCode },
      admin,
    );
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('CLAIM_CODE_INVALID');
    for (let i = 0; i < 2; i++) {
      expect((await gw.api('POST', '/api/claims', { claimCode: `WRONG-CODE-${i}` }, admin)).status).toBe(404);
    }
    const blocked = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/claims',
      { claimCode: d!.claimCode },
      admin,
    );
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
  });

  it('lets only the maker disclaim (back to the pool, data cleared, new code) and revoke', async () => {
    const { token: userToken } = await addUser(gw);
    const [d] = await mint(gw, admin, templateId);
    await gw.api('POST', '/api/claims', { claimCode: d!.claimCode }, userToken);
    const dev = await connectDevice(gw.brokerUrl, d!.token);
    await dev.client.publishAsync('ds/temp', '30');
    await expect.poll(async () => (await get(d!.deviceId)).body.values.temp).toBeDefined();

    // The user owns it but is not the maker.
    const refused = await gw.api('POST', `/api/static-tokens/${d!.deviceId}/disclaim`, undefined, userToken);
    expect(refused.status).toBe(403);
    const disclaimed = await gw.api<{ device: Dev; claimCode: string }>(
      'POST',
      `/api/static-tokens/${d!.deviceId}/disclaim`,
      undefined,
      admin,
    );
    expect(disclaimed.status).toBe(200);
    expect(disclaimed.body.device).toMatchObject({
      status: 'unclaimed',
      ownerId: null,
      orgId: rootOrg,
      values: {},
    });
    expect((await get(d!.deviceId, userToken)).status).toBe(404);
    expect(disclaimed.body.claimCode).not.toBe(d!.claimCode);
    expect((await gw.api('POST', '/api/claims', { claimCode: d!.claimCode }, admin)).status).toBe(404);
    expect(
      (await gw.api('POST', '/api/claims', { claimCode: disclaimed.body.claimCode }, admin)).status,
    ).toBe(200);

    // Delete the static token: revoked, the live connection dropped, the token refused.
    expect((await gw.api('DELETE', `/api/static-tokens/${d!.deviceId}`, undefined, userToken)).status).toBe(
      403,
    );
    const revoked = await gw.api<Dev>('DELETE', `/api/static-tokens/${d!.deviceId}`, undefined, admin);
    expect(revoked.body.status).toBe('revoked');
    await dev.closed;
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: d!.token })).toBe(4);
    expect((await gw.api('DELETE', `/api/static-tokens/${d!.deviceId}`, undefined, admin)).status).toBe(409);
    expect(await actions(d!.deviceId)).toEqual(
      expect.arrayContaining(['device.claimed', 'device.disclaimed', 'static-token.revoked']),
    );
  });

  it('counts minted, provisioned and claimed devices against the plan of the org tree', async () => {
    const freeOrg = await addOrg(gw, null, 'Small shop'); // a new root org is on the free plan: 5 devices
    const { token: shopAdmin } = await addUser(gw, { orgId: freeOrg, roleId: 'admin' });
    const shopTemplate = await createTemplate(gw, shopAdmin, 'Lamp');
    const over = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/static-tokens',
      { templateId: shopTemplate, count: 6 },
      shopAdmin,
    );
    expect(over.status).toBe(403);
    expect(over.body.error.code).toBe('PLAN_LIMIT');
    await mint(gw, shopAdmin, shopTemplate, 4);
    const session = await gw.api(
      'POST',
      '/api/provisioning/sessions',
      { templateId: shopTemplate },
      shopAdmin,
    );
    expect(session.status).toBe(201);
    expect(
      (await gw.api('POST', '/api/provisioning/sessions', { templateId: shopTemplate }, shopAdmin)).status,
    ).toBe(403);
    // A device claimed from another tree (the enterprise maker's) would be the sixth.
    const [fromMaker] = await mint(gw, admin, templateId);
    const claim = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/claims',
      { claimCode: fromMaker!.claimCode },
      shopAdmin,
    );
    expect(claim.body.error.code).toBe('PLAN_LIMIT');
  });

  it('refuses static-token management and templates editing to a plain user', async () => {
    const { token } = await addUser(gw);
    expect((await gw.api('POST', '/api/static-tokens', { templateId, count: 1 }, token)).status).toBe(403);
    expect(
      (await gw.api<{ devices: Dev[] }>('GET', '/api/static-tokens', undefined, token)).body.devices,
    ).toEqual([]);
    expect((await gw.api('PATCH', `/api/templates/${templateId}`, { name: 'X' }, token)).status).toBe(403);
    const edited = await gw.api<{ name: string; hotspotPrefix: string }>(
      'PATCH',
      `/api/templates/${templateId}`,
      { name: 'Heater v2', hotspotPrefix: 'Heat' },
      admin,
    );
    expect(edited.body).toMatchObject({ name: 'Heater v2', hotspotPrefix: 'Heat' });
    expect(
      (
        await gw.api(
          'PATCH',
          `/api/templates/${templateId}`,
          { datastreams: [{ name: 'a', type: 'int', min: 5, max: 1 }] },
          admin,
        )
      ).status,
    ).toBe(400);
    expect((await gw.api('POST', '/api/static-tokens', { templateId, count: 0 }, admin)).status).toBe(400);
  });

  it('transfers to an active user or an org in the subtree, and refuses the rest', async () => {
    const subOrg = await addOrg(gw, rootOrg, 'Branch');
    const otherRoot = await addOrg(gw, null, 'Someone else');
    const { user: alice, token: aliceToken } = await addUser(gw, { orgId: subOrg });
    const { user: pending } = await addUser(gw, { status: 'pending' });
    const { user: outsider } = await addUser(gw, { orgId: otherRoot });
    const d = await activeDevice(gw, admin, templateId);
    const path = `/api/devices/${d.deviceId}/transfer`;

    expect((await gw.api('POST', path, { userId: pending.id }, admin)).status).toBe(400);
    expect((await gw.api('POST', path, { userId: outsider.id }, admin)).status).toBe(404);
    expect((await gw.api('POST', path, { orgId: otherRoot }, admin)).status).toBe(404);
    expect((await gw.api('POST', path, {}, admin)).status).toBe(400);
    const moved = await gw.api<Dev>('POST', path, { userId: alice.id }, admin);
    expect(moved.body).toMatchObject({ orgId: subOrg, ownerId: alice.id });
    expect((await gw.api('POST', path, { userId: alice.id }, admin)).status).toBe(409);
    // Alice owns it now but her role has no transfer permission.
    expect((await gw.api('POST', path, { orgId: rootOrg }, aliceToken)).status).toBe(403);
    const toOrg = await gw.api<Dev>('POST', path, { orgId: rootOrg }, admin);
    expect(toOrg.body).toMatchObject({ orgId: rootOrg, ownerId: null });
    expect((await get(d.deviceId, aliceToken)).status).toBe(404);
    const audit = await gw.gateway.services.store.audit.list({ targetId: d.deviceId });
    const transfers = audit.filter((e) => e.action === 'device.transferred');
    // Each move between orgs is logged in both: the sending org's and the receiving org's auditors see it.
    expect(transfers).toHaveLength(4);
    expect(transfers.map((e) => e.orgId)).toEqual([rootOrg, subOrg, subOrg, rootOrg]); // newest first
    expect(transfers[3]!.details).toMatchObject({ to: { orgId: subOrg, ownerId: alice.id } });
  });

  it('re-provisions: new token, same id and data; the old token and its connection die at once', async () => {
    const d = await activeDevice(gw, admin, templateId);
    const old = await connectDevice(gw.brokerUrl, d.token);
    await old.client.publishAsync('ds/temp', '12');
    await expect.poll(async () => (await get(d.deviceId)).body.values.temp).toBeDefined();
    const res = await gw.api<{ token: string; wasOnline: boolean; device: Dev }>(
      'POST',
      `/api/devices/${d.deviceId}/reprovision`,
      undefined,
      admin,
    );
    expect(res.status).toBe(200);
    expect(res.body.wasOnline).toBe(true);
    expect(res.body.token).toHaveLength(32);
    expect(res.body.token).not.toBe(d.token);
    await old.closed;
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: d.token })).toBe(4);
    const fresh = await connectDevice(gw.brokerUrl, res.body.token);
    await fresh.client.publishAsync('get/ds', 'temp');
    expect(await fresh.next('downlink/ds/temp')).toBe('12');
    expect(res.body.device.id).toBe(d.deviceId);
    await fresh.client.endAsync();
    expect(await actions(d.deviceId)).toContain('device.reprovisioned');
  });

  it('deletes: a connected device is told to wipe itself, dropped, and its token refused', async () => {
    const { user, token: userToken } = await addUser(gw);
    const d = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${d.deviceId}/transfer`, { userId: user.id }, admin);
    const dev = await connectDevice(gw.brokerUrl, d.token);
    await withTimeline(d.deviceId, rootOrg);
    // The owner (role User) may control but not delete.
    expect((await gw.api('DELETE', `/api/devices/${d.deviceId}`, undefined, userToken)).status).toBe(403);
    const res = await gw.api<{ wasOnline: boolean }>(
      'DELETE',
      `/api/devices/${d.deviceId}`,
      undefined,
      admin,
    );
    expect(res.body).toEqual({ wasOnline: true });
    expect(await gw.gateway.services.store.deviceEvents.count({ deviceId: d.deviceId })).toBe(0);
    expect(JSON.parse(await dev.next('downlink/wipe'))).toEqual({ reason: 'deleted' });
    await dev.closed;
    expect((await get(d.deviceId)).status).toBe(404);
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: d.token })).toBe(4);
    expect(await actions(d.deviceId)).toContain('device.deleted');
  });

  it("drops the previous owner's shares when a device changes hands", async () => {
    const { user: first, token: firstToken } = await addUser(gw);
    const { user: friend, token: friendToken } = await addUser(gw);
    const { user: second } = await addUser(gw);
    const d = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${d.deviceId}/transfer`, { userId: first.id }, admin);
    const shared = await gw.api(
      'POST',
      `/api/devices/${d.deviceId}/shares`,
      { email: friend.email, level: 'view' },
      firstToken,
    );
    expect(shared.status).toBe(201);
    expect((await get(d.deviceId, friendToken)).status).toBe(200);
    await gw.api('POST', `/api/devices/${d.deviceId}/transfer`, { userId: second.id }, admin);
    expect((await get(d.deviceId, friendToken)).status).toBe(404);
  });

  it('tells a connected device to wipe itself when its organization is deleted with everything in it', async () => {
    const branch = await addOrg(gw, rootOrg, 'Closing branch');
    const d = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${d.deviceId}/transfer`, { orgId: branch }, admin);
    const dev = await connectDevice(gw.brokerUrl, d.token);
    await withTimeline(d.deviceId, branch);
    const res = await gw.api('DELETE', `/api/orgs/${branch}?force=true`, undefined, admin);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    // Its timeline went in the org's transaction: gone when the answer came, not some time later.
    expect(await gw.gateway.services.store.deviceEvents.count({ deviceId: d.deviceId })).toBe(0);
    expect(JSON.parse(await dev.next('downlink/wipe'))).toEqual({ reason: 'deleted' });
    await dev.closed;
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: d.token })).toBe(4);
  });

  /** A timeline event of the device, written straight into the store. */
  const withTimeline = async (deviceId: string, orgId: string) => {
    const { store } = gw.gateway.services;
    await store.deviceEvents.insert({
      id: `evt_${deviceId}`,
      deviceId,
      orgId,
      code: 'overheat',
      name: 'Overheat',
      level: 'warning',
      description: '',
      at: Date.now(),
      notified: false,
    });
    expect(await store.deviceEvents.count({ deviceId })).toBe(1);
  };

  it('scopes reading, renaming and control by the policy, and filters lists', async () => {
    const { user: bob, token: bobToken } = await addUser(gw);
    const mine = await activeDevice(gw, admin, templateId);
    const bobs = await activeDevice(gw, admin, templateId);
    await gw.api('POST', `/api/devices/${bobs.deviceId}/transfer`, { userId: bob.id }, admin);

    const list = await gw.api<{ devices: Dev[] }>('GET', '/api/devices', undefined, bobToken);
    expect(list.body.devices.map((d) => d.id)).toEqual([bobs.deviceId]);
    expect((await get(mine.deviceId, bobToken)).status).toBe(404);
    expect((await gw.api('PATCH', `/api/devices/${mine.deviceId}`, { name: 'x' }, bobToken)).status).toBe(
      404,
    );
    expect(
      (await gw.api('PUT', `/api/devices/${mine.deviceId}/datastreams/temp`, { value: 1 }, bobToken)).status,
    ).toBe(404);
    expect(
      (await gw.api('POST', `/api/devices/${mine.deviceId}/reconfigure`, undefined, bobToken)).status,
    ).toBe(404);
    expect(
      (await gw.api('POST', `/api/devices/${mine.deviceId}/reprovision`, undefined, bobToken)).status,
    ).toBe(404);

    const renamed = await gw.api<{ name: string }>(
      'PATCH',
      `/api/devices/${bobs.deviceId}`,
      { name: 'Bob’s heater' },
      bobToken,
    );
    expect(renamed.body.name).toBe('Bob’s heater');
    expect(await actions(bobs.deviceId)).toContain('device.renamed');
    const bad = await gw.api<{ error: { code: string } }>(
      'PUT',
      `/api/devices/${bobs.deviceId}/datastreams/temp`,
      { value: 900 },
      bobToken,
    );
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(
      (await gw.api('PUT', `/api/devices/${bobs.deviceId}/datastreams/temp`, { value: 20 }, bobToken)).body,
    ).toEqual({ value: 20, online: false });

    const ids = async (query: string) =>
      (await gw.api<{ devices: Dev[] }>('GET', `/api/devices?${query}`, undefined, admin)).body.devices
        .map((d) => d.id)
        .sort();
    expect(await ids(`ownerId=${bob.id}`)).toEqual([bobs.deviceId]);
    expect(await ids(`templateId=${templateId}`)).toEqual([mine.deviceId, bobs.deviceId].sort());
    expect(await ids('online=true')).toEqual([]);
    expect(await ids('activated=true')).toEqual([mine.deviceId, bobs.deviceId].sort());
    await mint(gw, admin, templateId);
    expect(await ids('status=unclaimed')).toHaveLength(1);
    expect(await ids('activated=false')).toHaveLength(1);
    expect((await gw.api('GET', '/api/devices?online=maybe', undefined, admin)).status).toBe(400);

    // Pages, in creation order, with the total.
    const everything = (
      await gw.api<{ devices: Dev[]; total: number }>('GET', '/api/devices', undefined, admin)
    ).body;
    expect(everything.total).toBe(everything.devices.length);
    const page = (
      await gw.api<{ devices: Dev[]; total: number; offset: number }>(
        'GET',
        '/api/devices?limit=2&offset=1',
        undefined,
        admin,
      )
    ).body;
    expect(page).toMatchObject({ total: everything.total, offset: 1 });
    expect(page.devices.map((d) => d.id)).toEqual(everything.devices.slice(1, 3).map((d) => d.id));
    for (const bad of ['limit=0', 'limit=5001', 'limit=-1', 'offset=x'])
      expect((await gw.api('GET', `/api/devices?${bad}`, undefined, admin)).status, bad).toBe(400);
  });
});
