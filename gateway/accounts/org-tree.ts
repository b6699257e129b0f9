/** Walking the organization tree: a user sees their org and everything below it. */
import type { Store } from '../store/store.js';
import type { Org } from '../store/types.js';

/** The org and all its descendants, breadth first: O(subtree), not O(all orgs). */
export async function subtreeOrgIds(store: Store, orgId: string): Promise<Set<string>> {
  const out = new Set<string>([orgId]);
  const queue = [orgId];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of await store.orgs.childrenOf(next)) {
      if (!out.has(child.id)) {
        out.add(child.id);
        queue.push(child.id);
      }
    }
  }
  return out;
}

/** The root organization above (or at) orgId. */
export async function rootOf(store: Store, orgId: string): Promise<Org | undefined> {
  let org = await store.orgs.get(orgId);
  for (let hops = 0; org?.parentId && hops < 64; hops++) org = await store.orgs.get(org.parentId);
  return org;
}
