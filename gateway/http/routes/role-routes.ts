/** Roles per org and the catalogue of named permissions. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { PLAN_NAMES, USER_TYPES } from '../../../shared/permissions.js';
import { BUILT_IN_ROLES, effectivePermissions, PERMISSIONS } from '../../accounts/permissions.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Id, Name, strict } from './account-schemas.js';

const PermissionList = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 });
const OrgParams = strict({ orgId: Id });
const RoleParams = strict({ orgId: Id, roleId: Id });

export const roleRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { roles, plans } = services.accounts.deps;
  app.addHook('preHandler', requireActor(services));

  // The catalogue, the same for everyone who is logged in: names, built-in roles, what each user
  // type may ever hold, and which permissions each plan locks.
  app.get('/permissions', async () => ({
    permissions: PERMISSIONS,
    builtInRoles: Object.entries(BUILT_IN_ROLES).map(([id, r]) => ({
      id,
      name: r.name,
      permissions: r.permissions,
    })),
    userTypes: USER_TYPES.map((type) => ({
      type,
      permissions: [...effectivePermissions(PERMISSIONS, type)],
    })),
    lockedByPlan: Object.fromEntries(PLAN_NAMES.map((plan) => [plan, plans.lockedPermissions(plan)])),
  }));

  // With the plan that applies there and the permissions it locks (no edit may change those).
  app.get('/orgs/:orgId/roles', { schema: { params: OrgParams } }, async (request) => {
    const list = await roles.list(actorOf(request), request.params.orgId);
    return { roles: list, ...(await roles.locked(request.params.orgId)) };
  });

  app.post(
    '/orgs/:orgId/roles',
    { schema: { params: OrgParams, body: strict({ name: Name, permissions: PermissionList }) } },
    async (request, reply) =>
      reply
        .status(201)
        .send(await roles.create(actorOf(request), request.params.orgId, request.body, request.ip)),
  );

  app.patch(
    '/orgs/:orgId/roles/:roleId',
    {
      schema: {
        params: RoleParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            permissions: Type.Optional(PermissionList),
            applyToSubOrgs: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request) =>
      roles.update(actorOf(request), request.params.orgId, request.params.roleId, request.body, request.ip),
  );

  app.delete(
    '/orgs/:orgId/roles/:roleId',
    {
      schema: {
        params: RoleParams,
        querystring: strict({
          moveUsersTo: Type.Optional(Id),
          // Also the copies of the role in the orgs below.
          subOrgs: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
        }),
      },
    },
    async (request) =>
      roles.remove(
        actorOf(request),
        request.params.orgId,
        request.params.roleId,
        {
          ...(request.query.moveUsersTo !== undefined ? { moveUsersTo: request.query.moveUsersTo } : {}),
          subOrgs: request.query.subOrgs === 'true',
        },
        request.ip,
      ),
  );
};
