/** Walking the organization tree: a user sees their org and everything below it. */
import type { Store } from '../store/store.js';
import type { Org } from '../store/types.js';

/** The org and all its descendants, breadth first. */
export async function subtreeOrgIds(store: Store, orgId: string): Promise<Set<string>> {
  const out = new Set<string>([orgId]);
  const all = await store.orgs.find();
  const children = new Map<string, Org[]>();
  for (const org of all) {
    if (org.parentId === null) continue;
    const list = children.get(org.parentId) ?? [];
    list.push(org);
    children.set(org.parentId, list);
  }
  const queue = [orgId];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
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
