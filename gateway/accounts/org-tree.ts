/** Walking the organization tree: a user sees their org and everything below it. */
import type { StoreTables } from '../store/store.js';
import type { Org } from '../store/types.js';

/** The org and all its descendants: one store query, whatever the depth. */
export async function subtreeOrgIds(store: StoreTables, orgId: string): Promise<Set<string>> {
  const orgs = await store.orgs.subtree(orgId);
  return new Set(orgs.length > 0 ? orgs.map((o) => o.id) : [orgId]);
}

/** The root organization above (or at) orgId. */
export async function rootOf(store: StoreTables, orgId: string): Promise<Org | undefined> {
  return (await store.orgs.ancestors(orgId)).at(-1);
}
