import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NAME_PATTERN } from '../../../shared/topics.js';
import type { AuthenticatedActor } from '../../accounts/auth-service.js';
import { VIRTUAL_PIN_PATTERN } from '../../devices/virtual-pins.js';
import type { GatewayServices } from '../../services.js';
import type { Template } from '../../store/types.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Name, PrintableName } from './text-schemas.js';

const Datastream = Type.Object(
  {
    // As Blynk: "Set Temperature" is a name (shared/topics.ts says what a name may hold).
    name: Type.String({
      pattern: NAME_PATTERN,
      description: 'a name of 1 to 64 characters without / + # , or control characters',
    }),
    type: Type.Union([
      Type.Literal('int'),
      Type.Literal('double'),
      Type.Literal('string'),
      Type.Literal('enum'),
      Type.Literal('location'),
    ]),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    values: Type.Optional(Type.Array(PrintableName(64), { maxItems: 64 })),
    defaultValue: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Number()])),
    pin: Type.Optional(Type.String({ pattern: VIRTUAL_PIN_PATTERN })),
    /** Blynk's "Sync with latest server value": get/ds/all sends this datastream's value. */
    sync: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Blynk's template "Events": what `event/<code>` may carry, and whether it mails the owner. */
const EventDefinition = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9_\\-.:]{1,64}$' }),
    name: Name,
    level: Type.Optional(
      Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
    ),
    description: Type.Optional(PrintableName(300)),
    notify: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const TemplateBody = Type.Object(
  {
    name: Name,
    datastreams: Type.Optional(Type.Array(Datastream, { maxItems: 255 })),
    hotspotPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_\\-]{1,24}$' })),
    minSecurity: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)])),
    events: Type.Optional(Type.Array(EventDefinition, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

/**
 * A client (an end user) reads only what provisioning needs of a product — its id, name and the
 * lowest security a companion may accept — not how the maker built it.
 */
function templateView(actor: AuthenticatedActor, template: Template): Template | ProvisioningFacts {
  if (actor.user.type !== 'client') return template;
  return { id: template.id, name: template.name, minSecurity: template.minSecurity };
}

type ProvisioningFacts = Pick<Template, 'id' | 'name' | 'minSecurity'>;

export const templateRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.addHook('preHandler', requireActor(services));

  app.get('/templates', async (request) => {
    const actor = actorOf(request);
    return { templates: (await services.templates.listUsable(actor)).map((t) => templateView(actor, t)) };
  });

  app.get(
    '/templates/:id',
    { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
    async (request) => {
      const actor = actorOf(request);
      return templateView(actor, await services.templates.getUsable(actor, request.params.id));
    },
  );

  app.post('/templates', { schema: { body: TemplateBody } }, async (request, reply) =>
    reply.status(201).send(await services.templates.create(actorOf(request), request.body, request.ip)),
  );

  app.patch(
    '/templates/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Partial(TemplateBody, { additionalProperties: false, minProperties: 1 }),
      },
    },
    async (request) =>
      services.templates.update(actorOf(request), request.params.id, request.body, request.ip),
  );
};
