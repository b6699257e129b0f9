/**
 * Audit events: who did what to which record, when and from where. Account, ownership and
 * configuration changes go to the audit log (append-only, never trimmed by count); commands
 * people send devices go to the separate, bounded device-activity log.
 */
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Store, StoreTables } from './store/store.js';
import type { AuditEvent } from './store/types.js';

export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'ip' | 'orgId' | 'orgPath'> & {
  ip?: string | null;
  orgId?: string | null;
};

/** At most this many orgs up: the tree is 4 deep by default, 16 at most by configuration. */
const MAX_DEPTH = 64;

export class Auditor {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** `tables`: a transaction's, so that the event commits with the change it records (one fsync). */
  async record(input: AuditInput, tables: Pick<StoreTables, 'audit'> = this.store): Promise<void> {
    await tables.audit.append(await this.#event(input));
  }

  /** A command sent to a device: kept in the device-activity log, not the audit log. */
  async deviceActivity(input: AuditInput): Promise<void> {
    await this.store.deviceActivity.append(await this.#event(input));
  }

  async #event(input: AuditInput): Promise<AuditEvent> {
    const orgId = input.orgId ?? null;
    return {
      ...input,
      id: newId('evt'),
      at: this.clock.now(),
      ip: input.ip ?? null,
      orgId,
      ...(orgId ? { orgPath: await this.#path(orgId) } : {}),
    };
  }

  /** The org and its ancestors, nearest first: O(depth) lookups, each O(1). */
  async #path(orgId: string): Promise<string[]> {
    const path = [orgId];
    let org = await this.store.orgs.get(orgId);
    while (org?.parentId && path.length < MAX_DEPTH) {
      path.push(org.parentId);
      org = await this.store.orgs.get(org.parentId);
    }
    return path;
  }
}
