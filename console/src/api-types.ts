/** The shapes of the gateway's JSON answers that the console reads (the API is the contract). */

export interface PublicUser {
  id: string;
  orgId: string;
  email: string;
  name: string;
  type: string;
  roleId: string;
  status: string;
  createdAt: number;
}

export interface PlanUsage {
  [limit: string]: unknown;
}

export interface OrgView {
  id: string;
  name: string;
  parentId: string | null;
  plan: string;
  kind?: string;
  createdAt: number;
  /** Self-registration with this org (a maker); absent: off. */
  registration?: { enabled: boolean; roleId: string; type: string; ownOrg: boolean };
  [extra: string]: unknown;
}

export interface Me {
  user: PublicUser;
  org: OrgView | null;
  permissions: string[];
  sharedDevices: { deviceId: string; level: 'view' | 'control' }[];
}

/** A location is [longitude, latitude]. */
export type DatastreamValue = string | number | [number, number];

export interface Device {
  id: string;
  orgId: string;
  ownerId: string | null;
  templateId: string;
  name: string;
  status: 'pending' | 'active' | 'unclaimed' | 'revoked';
  createdAt: number;
  activatedAt: number | null;
  activatedBy: string | null;
  hardwareId: string | null;
  firmware: { ver?: string; build?: string; type?: string } | null;
  lastSeenAt: number | null;
  values: Record<string, { value: DatastreamValue; at: number }>;
  online: boolean;
  meta?: Record<string, string>;
}

export interface Datastream {
  name: string;
  type: 'int' | 'double' | 'string' | 'enum' | 'location';
  min?: number;
  max?: number;
  values?: string[];
  defaultValue?: string | number;
  /** Blynk's virtual pin (V0–V255), given by the gateway when a template is saved. */
  pin?: string;
  sync?: boolean;
}

export interface Template {
  id: string;
  orgId: string;
  name: string;
  datastreams: Datastream[];
  hotspotPrefix?: string;
  minSecurity?: 0 | 1 | 2;
}

export interface AuditEvent {
  id: string;
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  orgId: string | null;
  ip: string | null;
  details?: Record<string, unknown>;
}

export interface Invitation {
  id: string;
  email: string;
  orgId: string;
  roleId: string;
  type?: string;
  expiresAt: number;
  createdAt: number;
  acceptedAt?: number | null;
  [extra: string]: unknown;
}

export interface Role {
  id: string;
  name: string;
  permissions: string[];
  builtIn?: boolean;
  [extra: string]: unknown;
}

export interface Share {
  id: string;
  deviceId: string;
  email: string;
  level: 'view' | 'control';
  createdAt: number;
}

export interface MintedDevice {
  id: string;
  name: string;
  token: string;
  claimCode: string;
  [extra: string]: unknown;
}
