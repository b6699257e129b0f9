/**
 * Named permissions (shared/permissions.ts), the built-in roles and what each user type may ever
 * hold. A role is a set of permissions; a person's type caps it (type × role decide); every HTTP
 * route and broker action names the permission it needs, and `can()` decides (deny by default).
 */
import {
  DEVELOPER_ZONE,
  isPermission,
  PERMISSIONS,
  type Permission,
  type UserType,
} from '../../shared/permissions.js';

export { isPermission, PERMISSIONS, type Permission };

export const BUILT_IN_ROLES = {
  admin: { name: 'Admin', permissions: [...PERMISSIONS] },
  staff: {
    name: 'Staff',
    permissions: [
      'org.view',
      'users.view',
      'roles.view',
      'devices.own.view',
      'devices.own.control',
      'devices.org.view',
      'devices.org.control',
      'devices.create',
      'devices.provision',
      'templates.view',
    ],
  },
  // Beyond Blynk: the default User sees and controls its own devices and may provision new ones.
  user: {
    name: 'User',
    permissions: [
      'org.view',
      'devices.own.view',
      'devices.own.control',
      'devices.provision',
      'templates.view',
    ],
  },
} as const satisfies Record<string, { name: string; permissions: readonly Permission[] }>;

export type BuiltInRoleId = keyof typeof BUILT_IN_ROLES;

export const isBuiltInRole = (id: string): id is BuiltInRoleId => Object.hasOwn(BUILT_IN_ROLES, id);

export function permissionsOfRole(roleId: string): ReadonlySet<Permission> {
  return isBuiltInRole(roleId) ? new Set<Permission>(BUILT_IN_ROLES[roleId].permissions) : new Set();
}

/** Stored permission names, filtered to the ones this version knows (a removed name grants nothing). */
export const toPermissionSet = (names: readonly string[]): ReadonlySet<Permission> =>
  new Set(names.filter(isPermission));

/**
 * The most a user of each type may hold, whatever their role: developers may hold everything;
 * clients (end users) and partners (who manage clients) never work in the developer zone.
 */
const TYPE_CEILINGS: Readonly<Record<UserType, ReadonlySet<Permission>>> = {
  developer: new Set(PERMISSIONS),
  partner: new Set(PERMISSIONS.filter((p) => !DEVELOPER_ZONE.includes(p))),
  client: new Set(PERMISSIONS.filter((p) => !DEVELOPER_ZONE.includes(p))),
};

/** What a person may do: their role's permissions within their type's ceiling. */
export function effectivePermissions(role: Iterable<Permission>, type: UserType): ReadonlySet<Permission> {
  const ceiling = TYPE_CEILINGS[type] ?? TYPE_CEILINGS.client;
  const out = new Set<Permission>();
  for (const p of role) if (ceiling.has(p)) out.add(p);
  return out;
}
