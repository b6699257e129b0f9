/** Roles per org and the catalogue of named permissions. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { BUILT_IN_ROLES, PERMISSIONS } from '../../accounts/permissions.js';
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
  const { roles } = services.accounts.deps;
  app.addHook('preHandler', requireActor(services));

  // Names only: the catalogue is the same for everyone who is logged in.
  app.get('/permissions', async () => ({
    permissions: PERMISSIONS,
    builtInRoles: Object.entries(BUILT_IN_ROLES).map(([id, r]) => ({
      id,
      name: r.name,
      permissions: r.permissions,
    })),
  }));

  app.get('/orgs/:orgId/roles', { schema: { params: OrgParams } }, async (request) => ({
    roles: await roles.list(actorOf(request), request.params.orgId),
  }));

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
    { schema: { params: RoleParams, querystring: strict({ moveUsersTo: Type.Optional(Id) }) } },
    async (request) =>
      roles.remove(
        actorOf(request),
        request.params.orgId,
        request.params.roleId,
        request.query.moveUsersTo,
        request.ip,
      ),
  );
};
