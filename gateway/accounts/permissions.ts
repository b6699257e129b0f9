/**
 * Named permissions and the built-in roles. A role is a set of permissions; every HTTP route and
 * broker action names the permission it needs, and `can()` decides (deny by default).
 */
export const PERMISSIONS = [
  'org.view',
  'org.edit',
  'org.create-sub',
  'org.transfer',
  'users.view',
  'users.invite',
  'users.edit',
  'users.delete',
  'users.reset-password',
  'users.force-logout',
  'roles.view',
  'roles.edit',
  'devices.own.view',
  'devices.own.control',
  'devices.org.view',
  'devices.org.control',
  'devices.create',
  'devices.delete',
  'devices.transfer',
  'devices.provision',
  'static-tokens.manage',
  'templates.view',
  'templates.edit',
  'audit.view',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

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

const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

export const isPermission = (value: string): value is Permission => PERMISSION_SET.has(value);

/** Stored permission names, filtered to the ones this version knows (a removed name grants nothing). */
export const toPermissionSet = (names: readonly string[]): ReadonlySet<Permission> =>
  new Set(names.filter(isPermission));
