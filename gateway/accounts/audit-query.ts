/**
 * Reading the audit log and the device-activity log: only with the audit permission, only events
 * of the caller's org and the orgs below it — as the tree was when each event happened, so the
 * history of an org deleted since stays readable by those above it.
 */
import type { AuditQuery, Store } from '../store/store.js';
import type { AuditEvent } from '../store/types.js';
import { notFound, requirePermission } from './access.js';
import type { AuthenticatedActor } from './auth-service.js';
import { subtreeOrgIds } from './org-tree.js';

export interface AuditFilter {
  orgId?: string;
  targetId?: string;
  action?: string;
  actor?: string;
  since?: number;
  until?: number;
  limit?: number;
  /** 'audit' (default): accounts, ownership, configuration; 'devices': commands sent to devices. */
  log?: 'audit' | 'devices';
}

export async function listAudit(
  store: Store,
  actor: AuthenticatedActor,
  filter: AuditFilter,
): Promise<AuditEvent[]> {
  requirePermission(actor, 'audit.view');
  let within = actor.orgId;
  let orgIds: ReadonlySet<string> = actor.visibleOrgIds;
  if (filter.orgId !== undefined) {
    if (!actor.visibleOrgIds.has(filter.orgId)) throw notFound('Organization', filter.orgId);
    within = filter.orgId;
    orgIds = await subtreeOrgIds(store, filter.orgId);
  }
  const query: AuditQuery = {
    within,
    orgIds: [...orgIds],
    limit: filter.limit ?? 100,
    ...(filter.targetId !== undefined ? { targetId: filter.targetId } : {}),
    ...(filter.action !== undefined ? { action: filter.action } : {}),
    ...(filter.actor !== undefined ? { actor: filter.actor } : {}),
    ...(filter.since !== undefined ? { since: filter.since } : {}),
    ...(filter.until !== undefined ? { until: filter.until } : {}),
  };
  return (filter.log === 'devices' ? store.deviceActivity : store.audit).list(query);
}
