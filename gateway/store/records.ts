/**
 * The shape of every stored record, as a schema the store checks each row against when it loads
 * (gateway/store/validate.ts). The types in types.ts stay the ones code uses; the checks at the
 * bottom of this file make the compiler refuse the two drifting apart: add a field to a record
 * type and `npm run typecheck` points here until the schema has it too.
 *
 * Top-level fields are closed (an unknown field is foreign data); nested objects (firmware,
 * datastreams, values, details) are checked for their known fields and may carry more.
 */
import Type, { type Static, type TSchema } from 'typebox';
import type {
  AuditEvent,
  Device,
  DeviceEvent,
  DeviceGrant,
  Invitation,
  LinkToken,
  Meta,
  Org,
  RefreshToken,
  Role,
  Template,
  User,
} from './types.js';

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 256 });
const Time = Type.Number();
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const UserType = Type.Enum(['developer', 'client', 'partner']);
const Plan = Type.Enum(['free', 'pro', 'enterprise']);

export const OrgRecord = Type.Object(
  {
    id: Id,
    name: Type.String(),
    parentId: Nullable(Id),
    plan: Nullable(Plan),
    createdAt: Time,
    kind: Type.Optional(Type.Enum(['standard', 'clients', 'client', 'partner'])),
    timezone: Type.Optional(Type.String()),
    location: Type.Optional(Type.Object({ lat: Type.Number(), lon: Type.Number() })),
    registration: Type.Optional(
      Type.Object({ enabled: Type.Boolean(), roleId: Id, type: UserType, ownOrg: Type.Boolean() }, closed),
    ),
  },
  closed,
);

export const UserRecord = Type.Object(
  {
    id: Id,
    orgId: Id,
    email: Type.String(),
    name: Type.String(),
    type: UserType,
    roleId: Id,
    status: Type.Enum(['pending', 'active', 'suspended']),
    passwordHash: Nullable(Type.String()),
    createdAt: Time,
    sessionsValidAfter: Time,
  },
  closed,
);

export const RefreshTokenRecord = Type.Object(
  {
    id: Id,
    userId: Id,
    tokenHash: Type.String({ minLength: 1 }),
    createdAt: Time,
    expiresAt: Time,
    revokedAt: Nullable(Time),
    sessionId: Type.Optional(Id),
    sessionStartedAt: Type.Optional(Time),
    ip: Type.Optional(Nullable(Type.String())),
    revokedReason: Type.Optional(Type.Enum(['rotated', 'ended'])),
  },
  closed,
);

const DatastreamValue = Type.Union([
  Type.String(),
  Type.Number(),
  Type.Tuple([Type.Number(), Type.Number()]),
]);

const EventLevel = Type.Enum(['info', 'warning', 'critical']);

export const TemplateRecord = Type.Object(
  {
    id: Id,
    orgId: Id,
    name: Type.String(),
    datastreams: Type.Array(
      Type.Object({
        name: Type.String(),
        type: Type.Enum(['int', 'double', 'string', 'enum', 'location']),
        min: Type.Optional(Type.Number()),
        max: Type.Optional(Type.Number()),
        values: Type.Optional(Type.Array(Type.String())),
        defaultValue: Type.Optional(Type.Union([Type.String(), Type.Number()])),
        pin: Type.Optional(Type.String({ pattern: '^V(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$' })),
        sync: Type.Optional(Type.Boolean()),
      }),
    ),
    hotspotPrefix: Type.String(),
    minSecurity: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    events: Type.Optional(
      Type.Array(
        Type.Object({
          code: Type.String({ minLength: 1 }),
          name: Type.String(),
          level: Type.Optional(EventLevel),
          description: Type.Optional(Type.String()),
          notify: Type.Optional(Type.Boolean()),
        }),
      ),
    ),
    createdAt: Time,
  },
  closed,
);

export const DeviceRecord = Type.Object(
  {
    id: Id,
    orgId: Id,
    ownerId: Nullable(Id),
    templateId: Id,
    name: Type.String(),
    tokenHash: Type.String({ minLength: 1 }),
    status: Type.Enum(['pending', 'active', 'unclaimed', 'revoked']),
    provisioningExpiresAt: Nullable(Time),
    createdBy: Nullable(Id),
    createdAt: Time,
    activatedAt: Nullable(Time),
    activatedBy: Nullable(Id),
    hardwareId: Nullable(Type.String()),
    firmware: Nullable(
      Type.Object({
        ver: Type.Optional(Type.String()),
        build: Type.Optional(Type.String()),
        type: Type.Optional(Type.String()),
      }),
    ),
    lastSeenAt: Nullable(Time),
    values: Type.Record(Type.String(), Type.Object({ value: DatastreamValue, at: Time })),
    claimCodeHash: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
    makerOrgId: Type.Optional(Nullable(Id)),
    meta: Type.Optional(Type.Record(Type.String(), Type.String())),
    props: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()))),
    provisioningSecurity: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal('unknown')]),
    ),
  },
  closed,
);

export const AuditEventRecord = Type.Object(
  {
    id: Id,
    at: Time,
    actor: Type.String(),
    action: Type.String(),
    targetType: Type.Enum(['org', 'user', 'device', 'template', 'session', 'role', 'invitation']),
    targetId: Type.String(),
    orgId: Nullable(Type.String()),
    orgPath: Type.Optional(Type.Array(Type.String())),
    ip: Nullable(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  closed,
);

export const SigningKeyRecord = Type.Object(
  {
    kid: Type.String({ minLength: 1, maxLength: 64 }),
    createdAt: Type.Number(),
    retiredAt: Nullable(Type.Number()),
    jwk: Type.Record(Type.String(), Type.String()),
  },
  closed,
);

export const MetaRecord = Type.Object(
  {
    schemaVersion: Type.Integer({ minimum: 1 }),
    setupCodeHash: Nullable(Type.String()),
    signingKeys: Type.Optional(Type.Array(SigningKeyRecord, { maxItems: 64 })),
  },
  closed,
);

export const RoleRecord = Type.Object(
  {
    id: Id,
    orgId: Id,
    key: Type.String({ minLength: 1 }),
    name: Type.String(),
    permissions: Type.Array(Type.String()),
    builtIn: Type.Boolean(),
    createdAt: Time,
  },
  closed,
);

export const InvitationRecord = Type.Object(
  {
    id: Id,
    orgId: Id,
    email: Type.String(),
    name: Type.String(),
    userId: Id,
    roleId: Id,
    type: UserType,
    tokenHash: Type.String({ minLength: 1 }),
    invitedBy: Id,
    createdAt: Time,
    expiresAt: Time,
    status: Type.Enum(['pending', 'accepted', 'revoked']),
  },
  closed,
);

export const LinkTokenRecord = Type.Object(
  {
    id: Id,
    purpose: Type.Enum(['verify-email', 'reset-password']),
    email: Type.String(),
    userId: Nullable(Id),
    orgId: Id,
    tokenHash: Type.String({ minLength: 1 }),
    createdAt: Time,
    expiresAt: Time,
    usedAt: Nullable(Time),
  },
  closed,
);

export const DeviceGrantRecord = Type.Object(
  {
    id: Id,
    deviceId: Id,
    userId: Nullable(Id),
    email: Type.Optional(Type.String()),
    level: Type.Enum(['view', 'control']),
    grantedBy: Id,
    createdAt: Time,
  },
  closed,
);

export const DeviceEventRecord = Type.Object(
  {
    id: Id,
    deviceId: Id,
    orgId: Id,
    code: Type.String({ minLength: 1 }),
    name: Type.String(),
    level: EventLevel,
    description: Type.String(),
    at: Time,
    notified: Type.Boolean(),
  },
  closed,
);

// The compiler keeps types.ts and the schemas above in step: same top-level fields, and each
// assignable to the other. A failure here names the record whose schema needs the change.
type SameShape<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? [A] extends [B]
    ? [B] extends [A]
      ? true
      : false
    : false
  : false;
const inStep = <_ extends true>() => undefined;
inStep<SameShape<Org, Static<typeof OrgRecord>>>();
inStep<SameShape<User, Static<typeof UserRecord>>>();
inStep<SameShape<RefreshToken, Static<typeof RefreshTokenRecord>>>();
inStep<SameShape<Template, Static<typeof TemplateRecord>>>();
inStep<SameShape<Device, Static<typeof DeviceRecord>>>();
inStep<SameShape<AuditEvent, Static<typeof AuditEventRecord>>>();
inStep<SameShape<Meta, Static<typeof MetaRecord>>>();
inStep<SameShape<Role, Static<typeof RoleRecord>>>();
inStep<SameShape<Invitation, Static<typeof InvitationRecord>>>();
inStep<SameShape<LinkToken, Static<typeof LinkTokenRecord>>>();
inStep<SameShape<DeviceGrant, Static<typeof DeviceGrantRecord>>>();
inStep<SameShape<DeviceEvent, Static<typeof DeviceEventRecord>>>();
