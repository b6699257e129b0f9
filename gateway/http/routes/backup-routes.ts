/**
 * GET /api/backup: a consistent copy of the whole gateway (every tenant's data, the signing keys,
 * the outbox with ?outbox=true) in the backup format (store/backup.ts), streamed as it is read.
 * Only an admin of the root organization (the operator's) may take it.
 */
import { Readable } from 'node:stream';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { TetherError } from '../../../shared/errors.js';
import { TETHER_VERSION } from '../../../shared/version.js';
import type { GatewayServices } from '../../services.js';
import { backupLines } from '../../store/backup.js';
import { dataFolderFiles } from '../../store/data-folder-backup.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { strict } from './account-schemas.js';

export const backupRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { dataDir } = services;
  app.addHook('preHandler', requireActor(services));

  app.get(
    '/backup',
    {
      schema: {
        querystring: strict({
          outbox: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
        }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const org = await services.store.orgs.get(actor.orgId);
      if (org?.parentId !== null || actor.user.roleId !== 'admin') {
        throw new TetherError(
          'PERMISSION_DENIED',
          'Only an admin of the root organization may take a backup: it holds every organization’s data.',
        );
      }
      const outbox = request.query.outbox === 'true';
      await services.auditor.record({
        actor: actor.userId,
        action: 'gateway.backup',
        targetType: 'org',
        targetId: org.id,
        orgId: org.id,
        ip: request.ip,
        details: { outbox },
      });
      const files = dataDir ? dataFolderFiles(dataDir, { outbox }) : [];
      const lines = backupLines(services.store.dump(), files, {
        backend: services.store.backend,
        tether: TETHER_VERSION,
      });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      return reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="tether-backup-${stamp}.jsonl"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines));
    },
  );
};
