/**
 * A maker's static-token pool after someone in another subtree claims a device: the row says only
 * that it was claimed and when, never who has it, where, or what it reports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addOrg, addUser, connectDevice, createTemplate, mint } from './device-fixtures.js';

describe('static-token pool after a claim', () => {
  let gw: TestGateway;

  beforeEach(async () => {
    gw = await startTestGateway();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('shows the maker only id, name, template and when it was claimed; the maker can still disclaim', async () => {
    const admin = await gw.login();
    const root = (await gw.gateway.services.store.orgs.find())[0]!.id;
    const maker = await addOrg(gw, root, 'Maker');
    const customers = await addOrg(gw, root, 'Customers');
    const { token: makerToken } = await addUser(gw, { orgId: maker, roleId: 'admin' });
    const { user: buyer, token: buyerToken } = await addUser(gw, { orgId: customers });
    const templateId = await createTemplate(gw, admin);
    const [unclaimed, sold] = await mint(gw, makerToken, templateId, 2);
    const claim = await gw.api(
      'POST',
      '/api/claims',
      { claimCode: sold!.claimCode, name: 'Kitchen' },
      buyerToken,
    );
    expect(claim.status).toBe(200);
    const dev = await connectDevice(gw.brokerUrl, sold!.token);
    await dev.client.publishAsync('ds/temp', '21.5');
    await dev.client.publishAsync('meta/serial', 'SN-1');
    await expect
      .poll(async () => (await gw.gateway.services.store.devices.get(sold!.deviceId))?.values.temp)
      .toBeDefined();

    const pool = await gw.api<{ devices: Array<Record<string, unknown>> }>(
      'GET',
      '/api/static-tokens',
      undefined,
      makerToken,
    );
    const rows = new Map(pool.body.devices.map((d) => [d.id, d]));
    expect(rows.get(unclaimed!.deviceId)).toMatchObject({ status: 'unclaimed', orgId: maker });
    const claimedAt = (await gw.gateway.services.store.devices.get(sold!.deviceId))!.activatedAt;
    expect(rows.get(sold!.deviceId)).toEqual({
      id: sold!.deviceId,
      name: 'Kitchen',
      templateId,
      claimed: true,
      claimedAt,
      revoked: false,
    });
    const text = JSON.stringify(pool.body);
    for (const secret of [buyer.id, customers, 'SN-1', '21.5']) expect(text).not.toContain(secret);

    // Revoking answers with the same narrow row; disclaiming by id still works.
    const disclaimed = await gw.api(
      'POST',
      `/api/static-tokens/${sold!.deviceId}/disclaim`,
      undefined,
      makerToken,
    );
    expect(disclaimed.status).toBe(200);
    await dev.client.endAsync();
  });
});
