/**
 * Turning policy answers into errors for the HTTP API. The permission is checked before the target
 * is looked at, so "you may not" never depends on whether a record exists; a target outside the
 * caller's subtree is NOT_FOUND, so its existence is never revealed.
 */
import { TetherError } from '../../shared/errors.js';
import type { Permission } from './permissions.js';
import { type Actor, can, type Target } from './policy.js';

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!actor.permissions.has(permission)) {
    throw new TetherError('PERMISSION_DENIED', `You need the ${permission} permission for this.`, {
      details: { permission },
    });
  }
}

export const notFound = (what: string, id: string): TetherError =>
  new TetherError('NOT_FOUND', `${what} ${id.slice(0, 64)} does not exist or is not visible to you.`);

/** The record must exist and sit in the actor's subtree, and the actor must hold the permission. */
export function authorize<T extends Target>(
  actor: Actor,
  permission: Permission,
  record: T | undefined,
  what: string,
  id: string,
): T {
  requirePermission(actor, permission);
  if (!record || !actor.visibleOrgIds.has(record.orgId)) throw notFound(what, id);
  if (!can(actor, permission, record)) {
    throw new TetherError('PERMISSION_DENIED', `You need the ${permission} permission for this.`);
  }
  return record;
}
