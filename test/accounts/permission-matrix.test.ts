/**
 * The permission matrix over real HTTP: every registered route, for each user type (developer,
 * client, partner) × built-in role, against records in the caller's own org, a child org, the
 * parent org and a sibling org (and the caller's own device for device routes). A route missing
 * from this table fails the test, so a new route cannot skip it. Denied requests must be 403/404,
 * must change nothing, and must be 404 wherever a 403 would reveal that a record outside the
 * caller's subtree exists.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES, effectivePermissions, type Permission } from '../../gateway/accounts/permissions.js';
import { roleRecordId } from '../../gateway/accounts/role-service.js';
import { registeredRoutes } from '../../gateway/http/http-app.js';
import type { Device, Template, User, UserType } from '../../gateway/store/types.js';
import { CONSOLE_PAGES } from '../../shared/console-pages.js';
import { newDeviceToken, newId, newTemplateId, sha256Hex } from '../../shared/ids.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { createOrg, PASSWORD } from './account-support.js';

type RoleName = keyof typeof BUILT_IN_ROLES;
type Relation = 'same' | 'child' | 'parent' | 'sibling' | 'own';
const ROLES: RoleName[] = ['admin', 'staff', 'user'];
const TYPES: UserType[] = ['developer', 'client', 'partner'];
const ORG_RELATIONS: Relation[] = ['same', 'child', 'parent', 'sibling'];
const DEVICE_RELATIONS: Relation[] = [...ORG_RELATIONS, 'own'];

/** Who calls: a built-in role held by a user of some type (the type caps what the role gives). */
interface Who {
  role: RoleName;
  type: UserType;
}
const WHO: Who[] = TYPES.flatMap((type) => ROLES.map((role) => ({ role, type })));
const label = (w: Who) => `${w.type} ${w.role}`;

const has = (who: Who, p: Permission) =>
  effectivePermissions(BUILT_IN_ROLES[who.role].permissions as readonly Permission[], who.type).has(p);
const visible = (rel: Relation) => rel === 'same' || rel === 'child' || rel === 'own';

interface Ctx {
  gw: TestGateway;
  who: Who;
  rel: Relation;
  /** The org a record of this relation sits in. */
  org: string;
  actor: User;
  fx: Fixture;
}

interface Spec {
  /** `METHOD /url` exactly as registered. */
  route: string;
  relations: 'none' | 'org' | 'device';
  allow: (who: Who, rel: Relation) => boolean;
  request: (ctx: Ctx) => Promise<{ path: string; body?: unknown }>;
  /** Server-sent events: only the status is read. */
  stream?: boolean;
  /** Anonymous routes: checked to refuse a bogus secret, not per role. */
  anonymous?: { body: unknown; status: number };
  /** A person's own account: checked to require the current password. */
  self?: boolean;
  /** Records of the parent org are readable here (the maker's templates): a 403 there reveals nothing new. */
  readableAbove?: boolean;
  /**
   * The same request aimed at a record that does not exist. Where given, a refusal outside the
   * subtree must answer exactly as this does (else it must be a 404): either way nothing leaks.
   */
  probe?: () => { path: string; body?: unknown };
}

interface Fixture {
  orgs: Record<'root' | 'same' | 'child' | 'sibling', string>;
  /** Keyed by label(who). */
  actors: Record<string, User & { token: string }>;
  victims: Record<string, User>;
  templates: Record<string, Template>;
  devices: Record<string, Device>;
}

const need =
  (p: Permission) =>
  (who: Who, rel: Relation): boolean =>
    has(who, p) && visible(rel);
const anyone = () => true;
const viewDevice = (who: Who, rel: Relation) =>
  rel === 'own' ? has(who, 'devices.own.view') : has(who, 'devices.org.view') && visible(rel);
const controlDevice = (who: Who, rel: Relation) =>
  rel === 'own' ? has(who, 'devices.own.control') : has(who, 'devices.org.control') && visible(rel);
const shareDevice = (who: Who, rel: Relation) =>
  rel === 'own' ? has(who, 'devices.own.control') : has(who, 'devices.transfer') && visible(rel);
/** Re-provision, transfer, delete: the owner or org-wide control, with the action's own permission. */
const manageDevice = (p: Permission) => (who: Who, rel: Relation) =>
  controlDevice(who, rel) && has(who, p) && visible(rel);

let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;

describe('permission matrix: every route × built-in role × org relation', () => {
  let gw: TestGateway;
  let fx: Fixture;

  const store = () => gw.gateway.services.store;

  const insertUser = async (
    orgId: string,
    roleId: string,
    email = `${unique('u')}@example.com`,
    type: UserType = 'client',
  ): Promise<User> =>
    store().users.insert({
      id: newId('usr'),
      orgId,
      email,
      name: email.split('@')[0]!,
      type,
      roleId,
      status: 'active',
      passwordHash: await gw.gateway.services.auth.passwords.hash(PASSWORD),
      createdAt: Date.now(),
      sessionsValidAfter: 0,
    });

  const insertTemplate = (orgId: string): Promise<Template> =>
    store().templates.insert({
      id: newTemplateId(),
      orgId,
      name: unique('Product '),
      datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
      hotspotPrefix: 'Tether',
      minSecurity: 2,
      createdAt: Date.now(),
    });

  const insertDevice = (
    orgId: string,
    ownerId: string | null,
    extra: Partial<Device> = {},
  ): Promise<Device> =>
    store().devices.insert({
      id: newId('dev'),
      orgId,
      ownerId,
      templateId: fx.templates[orgId]!.id,
      name: unique('Device '),
      tokenHash: newId('hash'),
      status: 'active',
      provisioningExpiresAt: null,
      createdBy: ownerId,
      createdAt: Date.now(),
      activatedAt: Date.now(),
      activatedBy: ownerId,
      hardwareId: null,
      firmware: null,
      lastSeenAt: null,
      values: {},
      ...extra,
    });

  /** A device of this relation: the caller's own, or one owned by the victim of that org. */
  const deviceFor = (ctx: Ctx, extra: Partial<Device> = {}): Promise<Device> =>
    insertDevice(ctx.org, ctx.rel === 'own' ? ctx.actor.id : fx.victims[ctx.org]!.id, extra);

  /** A pending invitation (and the pending user it made) in `orgId`; its id. */
  const pendingInvitation = async (orgId: string): Promise<string> => {
    const user = await insertUser(orgId, 'user');
    await store().users.update(user.id, { status: 'pending', passwordHash: null });
    const id = newId('inv');
    await store().invitations.insert({
      id,
      orgId,
      email: user.email,
      name: user.name,
      userId: user.id,
      roleId: 'user',
      type: 'client',
      tokenHash: newId('h'),
      invitedBy: fx.actors['developer admin']!.id,
      createdAt: Date.now(),
      expiresAt: Date.now() + 86_400_000,
      status: 'pending',
    });
    return id;
  };

  const SPECS: Spec[] = [
    // --- anonymous: a bogus secret is refused and changes nothing
    { route: 'GET /healthz', relations: 'none', allow: anyone, request: async () => ({ path: '/healthz' }) },
    { route: 'GET /readyz', relations: 'none', allow: anyone, request: async () => ({ path: '/readyz' }) },
    // Open on a loopback listener, as here; beyond loopback it needs its own token (test/gateway/metrics).
    {
      route: 'GET /metrics',
      relations: 'none',
      allow: anyone,
      stream: true,
      request: async () => ({ path: '/metrics' }),
    },
    {
      route: 'POST /api/auth/login',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { email: 'x@example.com', password: 'wrong password' }, status: 401 },
      request: async () => ({ path: '/api/auth/login' }),
    },
    {
      route: 'POST /api/auth/refresh',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { refreshToken: 'x'.repeat(43) }, status: 401 },
      request: async () => ({ path: '/api/auth/refresh' }),
    },
    {
      route: 'POST /api/auth/logout',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { refreshToken: 'x'.repeat(43) }, status: 204 },
      request: async () => ({ path: '/api/auth/logout' }),
    },
    {
      route: 'POST /api/setup',
      relations: 'none',
      allow: anyone,
      anonymous: {
        body: { setupCode: 'x'.repeat(43), email: 'y@example.com', password: PASSWORD },
        status: 403,
      },
      request: async () => ({ path: '/api/setup' }),
    },
    {
      route: 'POST /api/auth/forgot-password',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { email: 'nobody@example.com' }, status: 202 },
      request: async () => ({ path: '/api/auth/forgot-password' }),
    },
    {
      route: 'POST /api/auth/reset-password',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { token: 'x'.repeat(43), password: PASSWORD }, status: 410 },
      request: async () => ({ path: '/api/auth/reset-password' }),
    },
    {
      route: 'POST /api/invitations/accept',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { token: 'x'.repeat(43), password: PASSWORD }, status: 410 },
      request: async () => ({ path: '/api/invitations/accept' }),
    },
    {
      route: 'POST /api/registrations/verify',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { token: 'x'.repeat(43), password: PASSWORD }, status: 410 },
      request: async () => ({ path: '/api/registrations/verify' }),
    },
    // The web console: its pages and files are public (the data behind them is not); the browser
    // session routes refuse anything without the console's CSRF header.
    ...Object.values(CONSOLE_PAGES).map(
      (path): Spec => ({
        route: `GET ${path}`,
        relations: 'none',
        allow: anyone,
        stream: true,
        anonymous: { body: undefined, status: 200 },
        request: async () => ({ path }),
      }),
    ),
    {
      route: 'GET /assets/:file',
      relations: 'none',
      allow: anyone,
      stream: true,
      // The literal ":file" is not a file name the route accepts.
      anonymous: { body: undefined, status: 400 },
      request: async () => ({ path: '/assets/nothing.js' }),
    },
    ...['POST /api/browser-session', 'POST /api/browser-session/refresh', 'DELETE /api/browser-session'].map(
      (route): Spec => ({
        route,
        relations: 'none',
        allow: anyone,
        anonymous: {
          body:
            route.endsWith('session') && route.startsWith('POST')
              ? { email: 'x@example.com', password: 'wrong password' }
              : undefined,
          status: 403,
        },
        request: async () => ({ path: route.split(' ')[1]! }),
      }),
    ),
    // Blynk's HTTPS device API: the device token in the query is the only credential.
    ...['get', 'getAll', 'update', 'batch/update', 'isHardwareConnected', 'logEvent', 'provision'].map(
      (name): Spec => ({
        route: `GET /external/api/${name}`,
        relations: 'none',
        allow: anyone,
        anonymous: { body: undefined, status: 400 },
        request: async () => ({ path: `/external/api/${name}?token=${'x'.repeat(32)}&v0=1` }),
      }),
    ),
    // Registration names a root org: a sub-org id is as unknown as a made-up one.
    {
      route: 'POST /api/registrations',
      relations: 'none',
      allow: anyone,
      anonymous: { body: { orgId: 'org_doesnotexist', email: 'z@example.com' }, status: 404 },
      request: async () => ({ path: '/api/registrations' }),
    },

    // --- a person's own account: needs the current password
    { route: 'GET /api/me', relations: 'none', allow: anyone, request: async () => ({ path: '/api/me' }) },
    {
      route: 'POST /api/me/password',
      relations: 'none',
      allow: anyone,
      self: true,
      request: async () => ({
        path: '/api/me/password',
        body: { currentPassword: 'not the password', newPassword: 'another long password' },
      }),
    },
    {
      route: 'DELETE /api/me',
      relations: 'none',
      allow: anyone,
      self: true,
      request: async () => ({ path: '/api/me', body: { password: 'not the password' } }),
    },
    // A person's own sessions: each sees and ends only their own (another's id is not found).
    {
      route: 'GET /api/sessions',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/sessions' }),
    },
    {
      route: 'DELETE /api/sessions/:id',
      relations: 'none',
      allow: () => false,
      request: async () => {
        const victim = fx.victims[fx.orgs.same]!;
        const tokens = await gw.api<{ refreshToken: string }>('POST', '/api/auth/login', {
          email: victim.email,
          password: PASSWORD,
        });
        const token = await store().refreshTokens.byTokenHash(sha256Hex(tokens.body.refreshToken));
        return { path: `/api/sessions/${token!.sessionId}` };
      },
    },
    {
      route: 'GET /api/permissions',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/permissions' }),
    },

    // --- organizations
    {
      route: 'GET /api/orgs',
      relations: 'none',
      allow: (w) => has(w, 'org.view'),
      request: async () => ({ path: '/api/orgs' }),
    },
    {
      route: 'GET /api/orgs/:id',
      relations: 'org',
      allow: need('org.view'),
      request: async (c) => ({ path: `/api/orgs/${c.org}` }),
    },
    {
      route: 'GET /api/orgs/:id/usage',
      relations: 'org',
      allow: need('org.view'),
      request: async (c) => ({ path: `/api/orgs/${c.org}/usage` }),
    },
    {
      route: 'POST /api/orgs',
      relations: 'org',
      allow: need('org.create-sub'),
      request: async (c) => ({ path: '/api/orgs', body: { name: unique('Org '), parentId: c.org } }),
    },
    {
      route: 'PATCH /api/orgs/:id',
      relations: 'org',
      allow: need('org.edit'),
      request: async (c) => ({ path: `/api/orgs/${c.org}`, body: { name: unique('Renamed ') } }),
    },
    {
      route: 'DELETE /api/orgs/:id',
      relations: 'org',
      allow: need('org.edit'),
      request: async (c) => {
        // A fresh empty org below the relation's org: below a sibling or the parent it is outside.
        const id = newId('org');
        await store().orgs.insert({
          id,
          name: unique('Empty '),
          parentId: c.org,
          plan: null,
          createdAt: Date.now(),
        });
        return { path: `/api/orgs/${id}` };
      },
    },

    // --- roles
    {
      route: 'GET /api/orgs/:orgId/roles',
      relations: 'org',
      allow: need('roles.view'),
      request: async (c) => ({ path: `/api/orgs/${c.org}/roles` }),
    },
    {
      route: 'POST /api/orgs/:orgId/roles',
      relations: 'org',
      allow: need('roles.edit'),
      request: async (c) => ({
        path: `/api/orgs/${c.org}/roles`,
        body: { name: unique('Role '), permissions: ['devices.own.view'] },
      }),
    },
    {
      route: 'PATCH /api/orgs/:orgId/roles/:roleId',
      relations: 'org',
      allow: need('roles.edit'),
      request: async (c) => ({
        path: `/api/orgs/${c.org}/roles/user`,
        body: { permissions: [...BUILT_IN_ROLES.user.permissions] },
      }),
    },
    {
      route: 'DELETE /api/orgs/:orgId/roles/:roleId',
      relations: 'org',
      allow: need('roles.edit'),
      request: async (c) => {
        const key = newId('rol');
        await store().roles.insert({
          id: roleRecordId(c.org, key),
          orgId: c.org,
          key,
          name: unique('Temp '),
          permissions: [],
          builtIn: false,
          createdAt: 0,
        });
        return { path: `/api/orgs/${c.org}/roles/${key}` };
      },
    },

    // --- users
    {
      route: 'GET /api/users',
      relations: 'org',
      allow: need('users.view'),
      request: async (c) => ({ path: `/api/users?orgId=${c.org}` }),
    },
    {
      route: 'GET /api/users/:id',
      relations: 'org',
      allow: need('users.view'),
      request: async (c) => ({ path: `/api/users/${fx.victims[c.org]!.id}` }),
    },
    {
      route: 'PATCH /api/users/:id',
      relations: 'org',
      allow: need('users.edit'),
      request: async (c) => ({
        path: `/api/users/${(await insertUser(c.org, 'user')).id}`,
        body: { name: 'Renamed' },
      }),
    },
    {
      route: 'POST /api/users/:id/move',
      relations: 'org',
      allow: need('users.edit'),
      request: async (c) => ({
        path: `/api/users/${(await insertUser(c.org, 'user')).id}/move`,
        body: { orgId: fx.orgs.same, roleId: 'user' },
      }),
    },
    {
      route: 'POST /api/users/:id/reset-password',
      relations: 'org',
      allow: need('users.reset-password'),
      request: async (c) => ({
        path: `/api/users/${(await insertUser(c.org, 'user')).id}/reset-password`,
        body: { password: 'a brand new password' },
      }),
    },
    {
      route: 'POST /api/users/:id/logout',
      relations: 'org',
      allow: need('users.force-logout'),
      request: async (c) => ({ path: `/api/users/${(await insertUser(c.org, 'user')).id}/logout` }),
    },
    {
      route: 'DELETE /api/users/:id',
      relations: 'org',
      allow: need('users.delete'),
      request: async (c) => ({ path: `/api/users/${(await insertUser(c.org, 'user')).id}` }),
    },

    // --- invitations
    {
      route: 'POST /api/invitations',
      relations: 'org',
      allow: need('users.invite'),
      request: async (c) => ({
        path: '/api/invitations',
        body: { email: `${unique('inv')}@example.com`, roleId: 'user', orgId: c.org },
      }),
    },
    {
      route: 'GET /api/invitations',
      relations: 'org',
      allow: need('users.invite'),
      request: async (c) => ({ path: `/api/invitations?orgId=${c.org}` }),
    },
    {
      route: 'DELETE /api/invitations/:id',
      relations: 'org',
      allow: need('users.invite'),
      request: async (c) => ({ path: `/api/invitations/${await pendingInvitation(c.org)}` }),
    },
    {
      route: 'POST /api/invitations/:id/resend',
      relations: 'org',
      allow: need('users.invite'),
      request: async (c) => ({ path: `/api/invitations/${await pendingInvitation(c.org)}/resend` }),
    },

    // --- sharing
    {
      route: 'GET /api/shares',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/shares' }),
    },
    {
      route: 'GET /api/devices/:id/shares',
      relations: 'device',
      allow: shareDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/shares` }),
    },
    {
      route: 'POST /api/devices/:id/shares',
      relations: 'device',
      allow: shareDevice,
      request: async (c) => ({
        path: `/api/devices/${(await deviceFor(c)).id}/shares`,
        body: { email: fx.victims[fx.orgs.sibling]!.email, level: 'view' },
      }),
    },
    {
      route: 'DELETE /api/devices/:id/shares/:shareId',
      relations: 'device',
      allow: shareDevice,
      request: async (c) => {
        const device = await deviceFor(c);
        const grantee = fx.victims[fx.orgs.root]!;
        await store().grants.insert({
          id: newId('grt'),
          deviceId: device.id,
          userId: grantee.id,
          level: 'view',
          grantedBy: 'test',
          createdAt: 0,
        });
        return { path: `/api/devices/${device.id}/shares/${grantee.id}` };
      },
    },

    // --- audit
    {
      route: 'GET /api/audit',
      relations: 'org',
      allow: need('audit.view'),
      request: async (c) => ({ path: `/api/audit?orgId=${c.org}` }),
    },
    // Every tenant's data: the root org's admins only, and these actors all sit below the root
    // (test/store/backup-restore.test.ts takes one as the root's admin).
    {
      route: 'GET /api/backup',
      relations: 'none',
      allow: () => false,
      request: async () => ({ path: '/api/backup' }),
    },

    // --- templates (a template of an org above is usable: devices are made from the maker's products)
    {
      route: 'GET /api/templates',
      relations: 'none',
      allow: (w) => has(w, 'templates.view'),
      request: async () => ({ path: '/api/templates' }),
    },
    {
      route: 'GET /api/templates/:id',
      relations: 'org',
      allow: (w, rel) => has(w, 'templates.view') && rel !== 'sibling',
      request: async (c) => ({ path: `/api/templates/${fx.templates[c.org]!.id}` }),
    },
    {
      route: 'POST /api/templates',
      relations: 'none',
      allow: (w) => has(w, 'templates.edit'),
      request: async () => ({ path: '/api/templates', body: { name: unique('Product ') } }),
    },
    {
      route: 'PATCH /api/templates/:id',
      relations: 'org',
      allow: need('templates.edit'),
      readableAbove: true,
      request: async (c) => ({
        path: `/api/templates/${(await insertTemplate(c.org)).id}`,
        body: { name: unique('Renamed product ') },
      }),
    },

    // --- provisioning
    {
      route: 'POST /api/provisioning/sessions',
      relations: 'none',
      allow: (w) => has(w, 'devices.provision'),
      request: async () => ({
        path: '/api/provisioning/sessions',
        body: { templateId: fx.templates[fx.orgs.same]!.id },
      }),
    },
    {
      route: 'GET /api/provisioning/sessions/:deviceId',
      relations: 'device',
      allow: viewDevice,
      request: async (c) => ({
        path: `/api/provisioning/sessions/${(await deviceFor(c, { status: 'pending', provisioningExpiresAt: Date.now() + 600_000 })).id}`,
      }),
    },
    {
      route: 'DELETE /api/provisioning/sessions/:deviceId',
      relations: 'device',
      allow: (w, rel) => viewDevice(w, rel) && has(w, 'devices.provision'),
      request: async (c) => ({
        path: `/api/provisioning/sessions/${(await deviceFor(c, { status: 'pending', provisioningExpiresAt: Date.now() + 600_000 })).id}`,
      }),
    },
    {
      route: 'GET /api/provisioning/sessions/:deviceId/events',
      relations: 'device',
      allow: viewDevice,
      stream: true,
      request: async (c) => ({
        path: `/api/provisioning/sessions/${(await deviceFor(c, { status: 'pending', provisioningExpiresAt: Date.now() + 600_000 })).id}/events`,
      }),
    },

    // --- devices
    {
      route: 'GET /api/devices',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/devices' }),
    },
    {
      route: 'GET /api/devices/:id',
      relations: 'device',
      allow: viewDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}` }),
    },
    {
      route: 'GET /api/devices/:id/events',
      relations: 'device',
      allow: viewDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/events` }),
    },
    {
      route: 'PATCH /api/devices/:id',
      relations: 'device',
      allow: controlDevice,
      request: async (c) => ({
        path: `/api/devices/${(await deviceFor(c)).id}`,
        body: { name: 'Renamed device' },
      }),
    },
    {
      route: 'PUT /api/devices/:id/datastreams/:name',
      relations: 'device',
      allow: controlDevice,
      request: async (c) => ({
        path: `/api/devices/${(await deviceFor(c)).id}/datastreams/temp`,
        body: { value: 21 },
      }),
    },
    {
      route: 'POST /api/devices/:id/reconfigure',
      relations: 'device',
      allow: controlDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/reconfigure` }),
    },
    {
      route: 'POST /api/devices/:id/reboot',
      relations: 'device',
      allow: controlDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/reboot` }),
    },
    {
      route: 'POST /api/devices/:id/ping',
      relations: 'device',
      allow: controlDevice,
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/ping` }),
    },
    {
      // The device gives its token to the broker it is sent to: provisioning rights, as re-provision.
      route: 'POST /api/devices/:id/redirect',
      relations: 'device',
      allow: (r, rel) => controlDevice(r, rel) && has(r, 'devices.provision'),
      request: async (c) => ({
        path: `/api/devices/${(await deviceFor(c)).id}/redirect`,
        body: { url: 'mqtt://node2.example.com:1883' },
      }),
    },
    {
      route: 'POST /api/devices/:id/transfer',
      relations: 'device',
      allow: manageDevice('devices.transfer'),
      request: async (c) => ({
        path: `/api/devices/${(await deviceFor(c)).id}/transfer`,
        body: { orgId: fx.orgs.same },
      }),
    },
    {
      route: 'POST /api/devices/:id/reprovision',
      relations: 'device',
      allow: manageDevice('devices.provision'),
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}/reprovision` }),
    },
    {
      route: 'DELETE /api/devices/:id',
      relations: 'device',
      allow: manageDevice('devices.delete'),
      request: async (c) => ({ path: `/api/devices/${(await deviceFor(c)).id}` }),
    },

    // --- static tokens (the maker's pool) and claims (anyone holding a code may claim: the code is the secret)
    {
      route: 'POST /api/static-tokens',
      relations: 'org',
      allow: need('static-tokens.manage'),
      request: async (c) => ({
        path: '/api/static-tokens',
        body: { templateId: fx.templates[fx.orgs.same]!.id, count: 1, orgId: c.org },
      }),
      probe: () => ({
        path: '/api/static-tokens',
        body: { templateId: fx.templates[fx.orgs.same]!.id, count: 1, orgId: 'org_doesnotexist' },
      }),
    },
    {
      route: 'GET /api/static-tokens',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/static-tokens' }),
    },
    {
      route: 'POST /api/static-tokens/:id/disclaim',
      relations: 'org',
      allow: need('static-tokens.manage'),
      request: async (c) => ({
        path: `/api/static-tokens/${(await insertDevice(c.org, fx.victims[c.org]!.id, { makerOrgId: c.org })).id}/disclaim`,
      }),
    },
    {
      route: 'DELETE /api/static-tokens/:id',
      relations: 'org',
      allow: need('static-tokens.manage'),
      request: async (c) => ({
        path: `/api/static-tokens/${(await insertDevice(c.org, fx.victims[c.org]!.id, { makerOrgId: c.org })).id}`,
      }),
    },
    {
      route: 'POST /api/claims',
      relations: 'none',
      allow: (w) => has(w, 'devices.provision'),
      request: async () => ({ path: '/api/claims', body: { claimCode: 'NOSUCHCODE00' } }),
    },
    {
      route: 'GET /api/stream',
      relations: 'none',
      allow: anyone,
      stream: true,
      request: async () => ({ path: '/api/stream' }),
    },
    {
      route: 'POST /api/stream/tickets',
      relations: 'none',
      allow: anyone,
      request: async () => ({ path: '/api/stream/tickets', body: { deviceId: 'dev_none' } }),
    },
  ];

  /** Everything a request could change, minus the audit log and sessions (a login writes those). */
  const fingerprint = async (): Promise<string> => {
    const s = store();
    return JSON.stringify([
      await s.orgs.find(),
      await s.users.find(),
      await s.templates.find(),
      await s.devices.find(),
      await s.roles.find(),
      await s.invitations.find(),
      await s.linkTokens.find(),
      await s.grants.find(),
    ]);
  };

  const call = async (
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    stream = false,
  ) => {
    if (!stream) return gw.api<{ error?: { code: string } }>(method, path, body, token);
    const abort = new AbortController();
    const res = await fetch(`${gw.baseUrl}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: abort.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? ((await res.json()) as { error?: { code: string } }) : {};
    abort.abort();
    return { status: res.status, body: parsed };
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    const rootToken = await gw.login();
    const rootId = (await gw.api<{ user: { orgId: string } }>('GET', '/api/me', undefined, rootToken)).body
      .user.orgId;
    // A partner org, so that partner users may belong to it beside developers and clients.
    const same = (
      await gw.api<{ id: string }>('POST', '/api/orgs', { name: 'A', kind: 'partner' }, rootToken)
    ).body.id;
    const child = await createOrg(gw, rootToken, 'A child', same);
    const sibling = await createOrg(gw, rootToken, 'B');
    fx = {
      orgs: { root: rootId, same, child, sibling },
      actors: {} as Fixture['actors'],
      victims: {},
      templates: {},
      devices: {},
    };
    for (const org of [rootId, same, child, sibling]) {
      fx.victims[org] = await insertUser(org, 'user');
      fx.templates[org] = await insertTemplate(org);
    }
    for (const who of WHO) {
      const user = await insertUser(same, who.role, `${who.type}-${who.role}-actor@example.com`, who.type);
      fx.actors[label(who)] = { ...user, token: await gw.login(user.email, PASSWORD) };
    }
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('has an entry for every registered route', () => {
    const registered = registeredRoutes(gw.gateway.http).map((r) => `${r.method} ${r.url}`);
    const covered = new Set(SPECS.map((s) => s.route));
    expect(
      registered.filter((r) => !covered.has(r)),
      'routes with no matrix entry',
    ).toEqual([]);
    expect(
      [...covered].filter((r) => !registered.includes(r)),
      'matrix entries with no route',
    ).toEqual([]);
  });

  it('refuses every request without a valid access token', async () => {
    for (const spec of SPECS.filter(
      (s) => !s.anonymous && !['GET /healthz', 'GET /readyz', 'GET /metrics'].includes(s.route),
    )) {
      const [method] = spec.route.split(' ');
      const path = spec.route.split(' ')[1]!.replace(/:(\w+)/g, 'x_$1');
      for (const token of [undefined, 'not-a-jwt', `${fx.actors['developer admin']!.token}x`]) {
        const before = await fingerprint();
        const res = await call(method!, path, spec.route.startsWith('GET') ? undefined : {}, token);
        expect([400, 401], `${spec.route} token=${String(token).slice(0, 12)}`).toContain(res.status);
        expect(await fingerprint()).toBe(before);
      }
    }
  });

  it('anonymous routes refuse a bogus secret and change nothing', async () => {
    for (const spec of SPECS.filter((s) => s.anonymous)) {
      const before = await fingerprint();
      const res = await call(
        spec.route.split(' ')[0]!,
        spec.route.split(' ')[1]!,
        spec.anonymous!.body,
        undefined,
        spec.stream,
      );
      expect(res.status, spec.route).toBe(spec.anonymous!.status);
      expect(await fingerprint(), spec.route).toBe(before);
    }
  });

  it('own-account routes need the current password', async () => {
    for (const spec of SPECS.filter((s) => s.self)) {
      for (const who of WHO) {
        const actor = fx.actors[label(who)]!;
        const { path, body } = await spec.request({ gw, who, rel: 'same', org: fx.orgs.same, actor, fx });
        const before = await fingerprint();
        const res = await call(spec.route.split(' ')[0]!, path, body, actor.token);
        expect(res.status, `${spec.route} as ${label(who)}`).toBe(401);
        expect(res.body.error?.code).toBe('INVALID_CREDENTIALS');
        expect(await fingerprint()).toBe(before);
      }
    }
  });

  it('allows exactly what each type × role may do, and only inside its subtree', {
    timeout: 180_000,
  }, async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const spec of SPECS.filter((s) => !s.anonymous && !s.self)) {
      const method = spec.route.split(' ')[0]!;
      const relations: Relation[] =
        spec.relations === 'none' ? ['same'] : spec.relations === 'org' ? ORG_RELATIONS : DEVICE_RELATIONS;
      for (const who of WHO) {
        for (const rel of relations) {
          const org =
            rel === 'own' || rel === 'same' ? fx.orgs.same : rel === 'parent' ? fx.orgs.root : fx.orgs[rel];
          const actor = fx.actors[label(who)]!;
          const { path, body } = await spec.request({ gw, who, rel, org, actor, fx });
          const before = await fingerprint();
          const res = await call(method, path, body, actor.token, spec.stream);
          const code = res.body.error?.code ?? '';
          const denied =
            res.status === 403 ||
            (res.status === 404 && /NOT_FOUND$/.test(code) && code !== 'CLAIM_CODE_INVALID');
          const expected = spec.allow(who, rel);
          const text = `${spec.route} as ${label(who)} on ${rel}: ${res.status} ${code}`;
          checked++;
          if (res.status === 401 || res.status === 400 || res.status >= 500)
            failures.push(`${text} (unexpected status)`);
          else if (expected && denied) failures.push(`${text} (should be allowed)`);
          else if (!expected && !denied) failures.push(`${text} (should be refused)`);
          else if (!expected) {
            // A record outside the subtree is not found, not forbidden, when the role could act on it if it were visible.
            const readable = spec.readableAbove && rel === 'parent';
            if (!visible(rel) && !readable && spec.relations !== 'none' && spec.allow(who, 'same')) {
              if (spec.probe) {
                const probe = spec.probe();
                const answer = await call(method, probe.path, probe.body, actor.token);
                if (answer.status !== res.status || answer.body.error?.code !== code) {
                  failures.push(
                    `${text} (differs from a made-up id: ${answer.status} ${answer.body.error?.code})`,
                  );
                }
              } else if (res.status !== 404) failures.push(`${text} (reveals a record outside the subtree)`);
            }
            if ((await fingerprint()) !== before) failures.push(`${text} (a refused request changed data)`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(1200);
  });

  it('listings show nothing from the parent or sibling orgs', async () => {
    const outside = new Set([fx.orgs.root, fx.orgs.sibling]);
    for (const who of WHO) {
      const token = fx.actors[label(who)]!.token;
      const orgs = await gw.api<{ orgs?: Array<{ id: string }> }>('GET', '/api/orgs', undefined, token);
      expect(orgs.body.orgs?.some((o) => outside.has(o.id))).toBe(false);
      const users = await gw.api<{ users?: Array<{ orgId: string }> }>('GET', '/api/users', undefined, token);
      expect((users.body.users ?? []).some((u) => outside.has(u.orgId))).toBe(false);
      const devices = await gw.api<{ devices: Array<{ orgId: string; ownerId: string | null }> }>(
        'GET',
        '/api/devices',
        undefined,
        token,
      );
      expect(devices.body.devices.some((d) => outside.has(d.orgId))).toBe(false);
      if (who.role === 'user')
        expect(devices.body.devices.every((d) => d.ownerId === fx.actors[label(who)]!.id)).toBe(true);
      const audit = await gw.api<{ events?: Array<{ orgId: string }> }>(
        'GET',
        '/api/audit',
        undefined,
        token,
      );
      expect((audit.body.events ?? []).some((e) => outside.has(e.orgId))).toBe(false);
      const pool = await gw.api<{ devices: Array<{ orgId: string }> }>(
        'GET',
        '/api/static-tokens',
        undefined,
        token,
      );
      expect(pool.body.devices.some((d) => outside.has(d.orgId))).toBe(false);
    }
  });

  it('broker actions: a command reaches a connected device only when the role may control it', async () => {
    const clients: mqtt.MqttClient[] = [];
    try {
      const received = new Map<string, string[]>();
      const targets: Array<{ rel: Relation; who: Who; deviceId: string }> = [];
      for (const who of WHO.filter((w) => w.type === 'client')) {
        for (const rel of DEVICE_RELATIONS) {
          const org =
            rel === 'own' || rel === 'same' ? fx.orgs.same : rel === 'parent' ? fx.orgs.root : fx.orgs[rel];
          const token = newDeviceToken();
          const ownerId = rel === 'own' ? fx.actors[label(who)]!.id : fx.victims[org]!.id;
          const device = await insertDevice(org, ownerId, { tokenHash: sha256Hex(token) });
          const client = await mqtt.connectAsync(gw.brokerUrl, {
            username: 'device',
            password: token,
            reconnectPeriod: 0,
          });
          clients.push(client);
          received.set(device.id, []);
          client.on('message', (topic) => received.get(device.id)!.push(topic));
          await client.subscribeAsync('downlink/#');
          targets.push({ rel, who, deviceId: device.id });
        }
      }
      for (const { who, deviceId } of targets) {
        const token = fx.actors[label(who)]!.token;
        await gw.api('POST', `/api/devices/${deviceId}/reboot`, undefined, token);
        await gw.api('PUT', `/api/devices/${deviceId}/datastreams/temp`, { value: 5 }, token);
        await gw.api('POST', `/api/devices/${deviceId}/reconfigure`, undefined, token);
      }
      // Allowed commands arrive; give them time, then check that refused ones never did.
      await expect
        .poll(
          () =>
            targets
              .filter((t) => controlDevice(t.who, t.rel))
              .every((t) => received.get(t.deviceId)!.length >= 3),
          { timeout: 5000 },
        )
        .toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const { rel, who, deviceId } of targets) {
        const topics = received.get(deviceId)!;
        if (controlDevice(who, rel))
          expect(topics, `${label(who)} on ${rel}`).toEqual(
            expect.arrayContaining(['downlink/reboot', 'downlink/ds/temp', 'downlink/reconfigure']),
          );
        else expect(topics, `${label(who)} on ${rel}`).toEqual([]);
      }
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
  });

  it('a client reads only what provisioning needs of a product; developers and partners read all of it', async () => {
    for (const type of TYPES) {
      const token = fx.actors[label({ type, role: 'admin' })]!.token;
      const one = await gw.api<Record<string, unknown>>(
        'GET',
        `/api/templates/${fx.templates[fx.orgs.same]!.id}`,
        undefined,
        token,
      );
      const list = await gw.api<{ templates: Array<Record<string, unknown>> }>(
        'GET',
        '/api/templates',
        undefined,
        token,
      );
      expect(one.status).toBe(200);
      if (type === 'client') {
        expect(Object.keys(one.body).sort()).toEqual(['id', 'minSecurity', 'name']);
        for (const t of list.body.templates)
          expect(Object.keys(t).sort()).toEqual(['id', 'minSecurity', 'name']);
      } else {
        expect(one.body).toHaveProperty('datastreams');
        expect(one.body).toHaveProperty('hotspotPrefix');
      }
    }
  });
});
