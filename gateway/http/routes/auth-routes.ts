import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';

const Email = Type.String({ minLength: 3, maxLength: 320 });
const Password = Type.String({ minLength: 1, maxLength: 256 });
const Secret = Type.String({ minLength: 16, maxLength: 256 });

export const authRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.post(
    '/auth/login',
    { schema: { body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }) } },
    async (request) => services.auth.login({ ...request.body, ip: request.ip }),
  );

  app.post(
    '/auth/refresh',
    { schema: { body: Type.Object({ refreshToken: Secret }, { additionalProperties: false }) } },
    async (request) => services.auth.refresh(request.body.refreshToken, request.ip),
  );

  app.post(
    '/auth/logout',
    { schema: { body: Type.Object({ refreshToken: Secret }, { additionalProperties: false }) } },
    async (request, reply) => {
      await services.auth.logout(request.body.refreshToken, request.ip);
      return reply.status(204).send();
    },
  );

  // First run without TETHER_ADMIN_*: the gateway printed a one-time setup code.
  app.post(
    '/setup',
    {
      schema: {
        body: Type.Object(
          {
            setupCode: Secret,
            email: Email,
            password: Password,
            organization: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { user, org } = await services.auth.completeSetup(request.body);
      return reply.status(201).send({ user, org });
    },
  );
};
