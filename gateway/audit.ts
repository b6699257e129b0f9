/** Audit events: who did what to which record, when and from where. */
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Store } from './store/store.js';
import type { AuditEvent } from './store/types.js';

export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'ip' | 'orgId'> & {
  ip?: string | null;
  orgId?: string | null;
};

export class Auditor {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async record(input: AuditInput): Promise<void> {
    await this.store.audit.append({
      ...input,
      id: newId('evt'),
      at: this.clock.now(),
      ip: input.ip ?? null,
      orgId: input.orgId ?? null,
    });
  }
}
