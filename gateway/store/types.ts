/**
 * The records the gateway keeps. Secrets (passwords, device tokens, refresh tokens, claim codes)
 * are stored only as hashes.
 */

import type { PlanName, UserType } from '../../shared/permissions.js';

export type { PlanName, UserType };
export type UserStatus = 'pending' | 'active' | 'suspended';

export interface Org {
  id: string;
  name: string;
  /** null for a root organization. */
  parentId: string | null;
  /** Set on root organizations; sub-orgs follow their root's plan. */
  plan: PlanName | null;
  createdAt: number;
  /**
   * What the org is for: 'standard' (default when absent), 'clients' (the maker's container for
   * self-registered clients), 'client' (one self-registered client), 'partner' (enterprise).
   */
  kind?: OrgKind;
  /**
   * The org's time zone (IANA name) for its devices' get/utc/all/json when neither the device's
   * location nor its "Time Zone" metadata says (Blynk: Organization Timezone).
   */
  timezone?: string;
  /** The org's location, for get/loc/all when the device knows none of its own. */
  location?: GeoPoint;
  /** Client self-registration with this org (a maker); absent means off. */
  registration?: RegistrationSettings;
}

/** How people who sign up with a maker org join it. */
export interface RegistrationSettings {
  enabled: boolean;
  /** The role a registrant gets (default 'user'). */
  roleId: string;
  /** The type a registrant gets (default 'client'). */
  type: UserType;
  /**
   * true: each registrant gets a client org of their own under the maker's Clients org;
   * false (default): registrants join the Clients org itself.
   */
  ownOrg: boolean;
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

export type OrgKind = 'standard' | 'clients' | 'client' | 'partner';

export interface User {
  id: string;
  orgId: string;
  /** Lower-cased; unique across the gateway. */
  email: string;
  name: string;
  type: UserType;
  /** Role id: 'admin' | 'staff' | 'user' built in, or a custom role's id. */
  roleId: string;
  status: UserStatus;
  /** scrypt hash in PHC-like string form; null until the user sets a password. */
  passwordHash: string | null;
  createdAt: number;
  /** Access tokens issued before this instant are refused (password change, force logout). */
  sessionsValidAfter: number;
}

/**
 * One refresh token of a session. Each refresh rotates it: the presented token is revoked
 * ('rotated') and a new one of the same session issued, so a session has one live token at a time.
 */
export interface RefreshToken {
  id: string;
  userId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** The session (refresh-token family) it belongs to; absent on tokens from before, where it is the id. */
  sessionId?: string;
  /** When the session began (its login); absent on tokens from before. */
  sessionStartedAt?: number;
  /** Where the session began (the login's IP address). */
  ip?: string | null;
  /** 'rotated': replaced by a newer token of its session; 'ended': the session ended. */
  revokedReason?: 'rotated' | 'ended';
}

export type DatastreamType = 'int' | 'double' | 'string' | 'enum' | 'location';

export interface Datastream {
  name: string;
  type: DatastreamType;
  min?: number;
  max?: number;
  /** enum: the allowed values. */
  values?: string[];
  defaultValue?: string | number;
  /**
   * Blynk's virtual pin, "V0" to "V255": what the HTTPS device API (/external/api/…) and Blynk's
   * scripts address a datastream by (the MQTT API uses the name). Unique within a template.
   */
  pin?: string;
  /**
   * Blynk's "Sync with latest server value" (Advanced settings): get/ds/all answers with this
   * datastream's latest value (or its default). Off unless set, as in Blynk.
   */
  sync?: boolean;
}

/**
 * An event a device may publish (`event/<code>`), as Blynk's template "Events" tab defines it.
 * Codes the template does not define are refused.
 */
export interface EventDefinition {
  /** What the device publishes: `event/<code>` (letters, digits, `_ - . :`). */
  code: string;
  name: string;
  level?: 'info' | 'warning' | 'critical';
  /** The description when the device sends an empty payload (Blynk's default description). */
  description?: string;
  /** Mail the device's owner when it happens (rate-limited per device and owner). */
  notify?: boolean;
}

/** One entry of a device's event timeline. */
export interface DeviceEvent {
  id: string;
  deviceId: string;
  orgId: string;
  code: string;
  name: string;
  level: 'info' | 'warning' | 'critical';
  description: string;
  at: number;
  /** A notification mail was sent for it. */
  notified: boolean;
}

export interface Template {
  /** `TMPL` followed by 8 characters, as Blynk. */
  id: string;
  orgId: string;
  name: string;
  datastreams: Datastream[];
  /** Name prefix of the device's provisioning access point / BLE advertisement. */
  hotspotPrefix: string;
  /** The lowest provisioning security level a companion may accept for this product. */
  minSecurity: 0 | 1 | 2;
  /** The events its devices may publish; absent = none. */
  events?: EventDefinition[];
  createdAt: number;
}

export type DeviceStatus = 'pending' | 'active' | 'unclaimed' | 'revoked';

export type DatastreamValue = string | number | [number, number];

export interface Device {
  id: string;
  orgId: string;
  ownerId: string | null;
  templateId: string;
  name: string;
  /** SHA-256 of the device's auth token, hex. */
  tokenHash: string;
  status: DeviceStatus;
  /** A pending device's token is refused after this instant. */
  provisioningExpiresAt: number | null;
  /** The user who started the provisioning session that created this device. */
  createdBy: string | null;
  createdAt: number;
  activatedAt: number | null;
  activatedBy: string | null;
  hardwareId: string | null;
  firmware: { ver?: string; build?: string; type?: string } | null;
  lastSeenAt: number | null;
  /** Latest value per datastream name, with the time it arrived. */
  values: Record<string, { value: DatastreamValue; at: number }>;
  /** Static-token devices: SHA-256 of the single-use claim code; null once claimed (or never). */
  claimCodeHash?: string | null;
  /** Static-token devices: the org whose pool it was minted into (the maker, who may disclaim). */
  makerOrgId?: string | null;
  /** Metadata fields the device or a person set (Blynk `meta/<field>`). */
  meta?: Record<string, string>;
  /** Widget properties per datastream (Blynk `ds/<name>/prop/<property>`). */
  props?: Record<string, Record<string, string>>;
  /**
   * Dynamic activation only: the security level of the provisioning session that delivered the
   * token, as the device reported it in info/mcu; 'unknown' when it reported none (stock Blynk
   * firmware). Absent for static-token devices, which are not provisioned this way.
   */
  provisioningSecurity?: ProvisioningSecurity;
}

export type ProvisioningSecurity = 0 | 1 | 2 | 'unknown';

export interface AuditEvent {
  id: string;
  at: number;
  /** The user, device or 'system' that acted. */
  actor: string;
  action: string;
  targetType: 'org' | 'user' | 'device' | 'template' | 'session' | 'role' | 'invitation';
  targetId: string;
  orgId: string | null;
  /**
   * The event's org and every org above it when it happened, nearest first: who may read the event
   * is fixed when it is written, so it stays readable by those above after the org is deleted.
   */
  orgPath?: string[];
  ip: string | null;
  details?: Record<string, unknown>;
}

export interface Meta {
  schemaVersion: number;
  /** One-time setup code for a database with no users, hashed. */
  setupCodeHash: string | null;
  /** A cluster's JWT signing keys (one node keeps them in its data folder instead). */
  signingKeys?: StoredSigningKey[];
}

/** One JWT signing key of a key set (gateway/accounts/signing-keys.ts). */
export interface StoredSigningKey {
  kid: string;
  createdAt: number;
  /** When a newer key took over; it verifies the tokens it signed until they have expired. */
  retiredAt: number | null;
  /** The private key, as a JWK (Ed25519: kty, crv, x, d). */
  jwk: Record<string, string>;
}

/**
 * A role's permissions in one org. Built-in roles (admin, staff, user) and custom roles alike have
 * one record per org, copied from the parent when a sub-org is created (inheritance at creation).
 * The id is `<orgId>/<key>`, so the lookup on every authenticated request is O(1).
 */
export interface Role {
  id: string;
  orgId: string;
  /** What users carry in `roleId`: 'admin' | 'staff' | 'user', or `rol_…` for a custom role. */
  key: string;
  name: string;
  permissions: string[];
  builtIn: boolean;
  createdAt: number;
}

export type InvitationStatus = 'pending' | 'accepted' | 'revoked';

export interface Invitation {
  id: string;
  orgId: string;
  /** Lower-cased; no account with it existed when the invitation was made. */
  email: string;
  name: string;
  /** The pending user the invitation creates; accepting activates it. */
  userId: string;
  roleId: string;
  type: UserType;
  /** SHA-256 of the single-use link token. */
  tokenHash: string;
  invitedBy: string;
  createdAt: number;
  expiresAt: number;
  status: InvitationStatus;
}

export type LinkTokenPurpose = 'verify-email' | 'reset-password';

/** A single-use emailed link (self-registration verification, password reset), stored hashed. */
export interface LinkToken {
  id: string;
  purpose: LinkTokenPurpose;
  email: string;
  /** reset-password: the user; verify-email: null (the account does not exist yet). */
  userId: string | null;
  /** verify-email: the root org the client registers with. */
  orgId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export type GrantLevel = 'view' | 'control';

/** Device sharing: one device, one grantee, view or control; any org. */
export interface DeviceGrant {
  id: string;
  deviceId: string;
  /**
   * The grantee; null while no account uses `email` (a share never says whether one does): the
   * grant starts to work when an account with that address is activated.
   */
  userId: string | null;
  /** The address the sharer named, normalised (absent on grants stored before it was kept). */
  email?: string;
  level: GrantLevel;
  grantedBy: string;
  createdAt: number;
}
