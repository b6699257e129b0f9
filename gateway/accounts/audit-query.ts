/** Reading the audit log: only with the audit permission, only events of orgs in the caller's subtree. */
import type { Store } from '../store/store.js';
import type { AuditEvent } from '../store/types.js';
import { notFound, requirePermission } from './access.js';
import type { AuthenticatedActor } from './auth-service.js';
import { subtreeOrgIds } from './org-tree.js';

export async function listAudit(
  store: Store,
  actor: AuthenticatedActor,
  query: { orgId?: string; targetId?: string; limit?: number },
): Promise<AuditEvent[]> {
  requirePermission(actor, 'audit.view');
  let orgIds: ReadonlySet<string> = actor.visibleOrgIds;
  if (query.orgId !== undefined) {
    if (!actor.visibleOrgIds.has(query.orgId)) throw notFound('Organization', query.orgId);
    orgIds = await subtreeOrgIds(store, query.orgId);
  }
  return store.audit.list({
    orgIds: [...orgIds],
    ...(query.targetId !== undefined ? { targetId: query.targetId } : {}),
    limit: query.limit ?? 100,
  });
}
