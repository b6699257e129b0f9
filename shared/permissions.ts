/**
 * The named permissions, user types and plans: a wire contract read by the gateway (its policy and
 * its configuration), the command line and the web console alike, so it is written once, here.
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

const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

export const isPermission = (value: string): value is Permission => PERMISSION_SET.has(value);

export const USER_TYPES = ['developer', 'client', 'partner'] as const;
export type UserType = (typeof USER_TYPES)[number];

export const PLAN_NAMES = ['free', 'pro', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/**
 * The developer zone (as Blynk): making products and the devices minted from them. Only developers
 * work there, whatever role anyone else holds.
 */
export const DEVELOPER_ZONE: readonly Permission[] = ['templates.edit', 'static-tokens.manage'];
