/**
 * The one policy function. Pure: it reads only its arguments, so it is tested as a matrix without
 * a store, an HTTP server or a broker. Deny by default.
 */
import type { Permission } from './permissions.js';

export interface Actor {
  userId: string;
  orgId: string;
  permissions: ReadonlySet<Permission>;
  /** The actor's org and every org below it. */
  visibleOrgIds: ReadonlySet<string>;
}

/** What an action touches: a record in an org, optionally owned by a user. */
export interface Target {
  orgId: string;
  ownerId?: string | null;
}

export function can(actor: Actor | undefined, permission: Permission, target?: Target): boolean {
  if (!actor?.permissions.has(permission)) return false;
  if (!target) return true;
  // Never above or beside: a target outside the actor's subtree is invisible to every permission.
  if (!actor.visibleOrgIds.has(target.orgId)) return false;
  if (permission === 'devices.own.view' || permission === 'devices.own.control') {
    return target.ownerId === actor.userId;
  }
  return true;
}

/** A device is visible through the org-wide permission, or through ownership. */
export const canViewDevice = (actor: Actor | undefined, device: Target): boolean =>
  can(actor, 'devices.org.view', device) || can(actor, 'devices.own.view', device);

export const canControlDevice = (actor: Actor | undefined, device: Target): boolean =>
  can(actor, 'devices.org.control', device) || can(actor, 'devices.own.control', device);
