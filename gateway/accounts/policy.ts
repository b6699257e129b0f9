/**
 * The one policy function. Pure: it reads only its arguments, so it is tested as a matrix without
 * a store, an HTTP server or a broker. Deny by default.
 */
import type { GrantLevel } from '../store/types.js';
import type { Permission } from './permissions.js';

export interface Actor {
  userId: string;
  orgId: string;
  permissions: ReadonlySet<Permission>;
  /** The actor's org and every org below it. */
  visibleOrgIds: ReadonlySet<string>;
  /**
   * Devices shared with the actor (device id → level), loaded with the actor on every request so
   * that a revoked grant stops working at once. Absent means no grants.
   */
  grants?: ReadonlyMap<string, GrantLevel>;
}

/** What an action touches: a record in an org, optionally owned by a user. */
export interface Target {
  orgId: string;
  ownerId?: string | null;
  /** The record's id; for devices, grants are looked up by it. */
  id?: string;
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

/**
 * Sharing (beyond Blynk): a grant lets a user of any org see or control one device. It still needs
 * the matching "own" permission in the grantee's role, so an org that takes device access away
 * from a role cannot be bypassed by sharing.
 */
function granted(actor: Actor | undefined, device: Target, level: GrantLevel): boolean {
  if (!actor || device.id === undefined) return false;
  const grant = actor.grants?.get(device.id);
  if (grant === undefined) return false;
  if (level === 'view') return actor.permissions.has('devices.own.view');
  return grant === 'control' && actor.permissions.has('devices.own.control');
}

/** A device is visible through the org-wide permission, through ownership, or through a grant. */
export const canViewDevice = (actor: Actor | undefined, device: Target): boolean =>
  can(actor, 'devices.org.view', device) ||
  can(actor, 'devices.own.view', device) ||
  granted(actor, device, 'view');

export const canControlDevice = (actor: Actor | undefined, device: Target): boolean =>
  can(actor, 'devices.org.control', device) ||
  can(actor, 'devices.own.control', device) ||
  granted(actor, device, 'control');

/**
 * Taking charge of a device — re-provision (a new token), transfer, delete, static-token operations
 * — belongs to its owner and to those with org-wide control of it, each also holding the action's
 * own permission. A share never counts: a control grant lets a person use a device, not take it
 * over, so nothing a grantee does outlives the grant.
 */
export const canManageDevice = (actor: Actor | undefined, device: Target, permission: Permission): boolean =>
  can(actor, permission, device) &&
  (can(actor, 'devices.own.control', device) || can(actor, 'devices.org.control', device));

/** Who may share a device or see its shares: its owner, or someone who may transfer it. */
export const canShareDevice = (actor: Actor | undefined, device: Target): boolean =>
  can(actor, 'devices.own.control', device) || can(actor, 'devices.transfer', device);

/** A role may be handed out only by someone who holds every permission in it (no escalation). */
export const canAssignPermissions = (actor: Actor | undefined, permissions: Iterable<string>): boolean => {
  if (!actor) return false;
  for (const p of permissions) if (!actor.permissions.has(p as Permission)) return false;
  return true;
};
