/**
 * Plans belong to tenants: a self-hosted gateway hosts several makers, each a top-level org under
 * the operator's root with a plan of its own. The operator's admins set it; a tenant's own admins
 * cannot; limits count per tenant; a downgrade past the limits is refused, naming what is over,
 * unless forced.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg } from './account-support.js';

type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };
type OrgView = { id: string; effectivePlan: string; planHolderId: string; plan: string | null };

describe('plans per tenant', () => {
  let gw: TestGateway;
  let operator: string;

  beforeEach(async () => {
    gw = await startTestGateway({ plans: { pro: { users: 2 } } as never });
    operator = await gw.login();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it("the operator sets a tenant's plan; the tenant's admins cannot; limits count per tenant", async () => {
    const acme = await createOrg(gw, operator, 'Acme');
    const branch = await createOrg(gw, operator, 'Acme branch', acme);
    const set = await gw.api<OrgView>('PATCH', `/api/orgs/${acme}`, { plan: 'pro' }, operator);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ plan: 'pro', effectivePlan: 'pro', planHolderId: acme });
    const below = await gw.api<OrgView>('GET', `/api/orgs/${branch}`, undefined, operator);
    expect(below.body).toMatchObject({ effectivePlan: 'pro', planHolderId: acme });
    // A plan goes on the root or on a tenant, not deeper.
    const deep = await gw.api<Err>('PATCH', `/api/orgs/${branch}`, { plan: 'enterprise' }, operator);
    expect(deep.body.error.code).toBe('VALIDATION_FAILED');

    const acmeAdmin = await addUser(gw, operator, 'boss@acme.example', 'admin', acme);
    const own = await gw.api<Err>('PATCH', `/api/orgs/${acme}`, { plan: 'enterprise' }, acmeAdmin.token);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toContain("operator's admins");

    // pro allows 2 users here: Acme has its admin, takes one more, then stops — at Acme only.
    await addUser(gw, acmeAdmin.token, 'second@acme.example', 'user');
    const third = await gw.api<Err>(
      'POST',
      '/api/invitations',
      { email: 'third@acme.example', roleId: 'user' },
      acmeAdmin.token,
    );
    expect(third.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      details: { limit: 'users', plan: 'pro', used: 2 },
    });
    expect(third.body.error.message).toContain('Acme has 2');
    await addUser(gw, operator, 'staff@operator.example', 'staff');

    // A tenant with a plan of its own stays directly below the root.
    const other = await createOrg(gw, operator, 'Other');
    const moved = await gw.api<Err>('PATCH', `/api/orgs/${acme}`, { parentId: other }, operator);
    expect(moved.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('a downgrade that leaves a tenant over its limits is refused, naming what is over, unless forced', async () => {
    const acme = await createOrg(gw, operator, 'Acme');
    await createOrg(gw, operator, 'Acme branch', acme);
    await addUser(gw, operator, 'a@acme.example', 'admin', acme);
    await addUser(gw, operator, 'b@acme.example', 'user', acme);
    expect((await gw.api('PATCH', `/api/orgs/${acme}`, { plan: 'enterprise' }, operator)).status).toBe(200);

    const refused = await gw.api<Err>('PATCH', `/api/orgs/${acme}`, { plan: 'free' }, operator);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('PLAN_LIMIT');
    expect(refused.body.error.message).toBe(
      'Acme is over the free plan: 2 users (the free plan allows 1); 1 sub-organization (the free plan allows 0). Remove what is over first, or force the change (it then keeps what it has but can add nothing past the limits).',
    );
    expect((await gw.api<OrgView>('GET', `/api/orgs/${acme}`, undefined, operator)).body.plan).toBe(
      'enterprise',
    );

    const forced = await gw.api<OrgView>(
      'PATCH',
      `/api/orgs/${acme}`,
      { plan: 'free', force: true },
      operator,
    );
    expect(forced.body.effectivePlan).toBe('free');
    const audit = await gw.api<{
      events: Array<{ action: string; details: { plan?: { forced?: string[] } } }>;
    }>('GET', `/api/audit?targetId=${acme}`, undefined, operator);
    expect(audit.body.events[0]?.details.plan?.forced).toHaveLength(2);
    // What it holds stays; nothing more can be added.
    const more = await gw.api<Err>('POST', '/api/orgs', { name: 'More', parentId: acme }, operator);
    expect(more.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      details: { limit: 'subOrgs', plan: 'free' },
    });
  });
});
