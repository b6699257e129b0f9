import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { PLAN_NAMES } from '../../shared/permissions.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { oneOf, withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function orgUpdateCommand(org: Command): void {
  org
    .command('update')
    .description(
      "Rename an organization, move it below another one in your subtree, or (the operator's admins) set the plan of the root or of a tenant.",
    )
    .argument('<org>', 'organization id or name')
    .option('-n, --name <name>', 'new name')
    .option('-p, --parent <org>', 'new parent organization (id or name)')
    .option('--plan <plan>', `plan of the root or of a tenant: ${PLAN_NAMES.join(', ')}`)
    .option('--force', 'with --plan: apply a downgrade even where the tenant is over the new limits')
    .option(
      '--timezone <zone>',
      "devices' time zone when they know none (IANA, e.g. Europe/Kyiv; 'none' clears)",
    )
    .option('--location <lat,lon>', "devices' location when they know none (e.g. 50.45,30.52; 'none' clears)")
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string,
        opts: {
          name?: string;
          parent?: string;
          plan?: string;
          force?: boolean;
          timezone?: string;
          location?: string;
          gateway?: string;
          json?: boolean;
        },
      ) => {
        const plan = opts.plan === undefined ? undefined : oneOf('--plan', opts.plan, PLAN_NAMES);
        const location =
          opts.location === undefined
            ? undefined
            : opts.location === 'none'
              ? null
              : parseLatLon(opts.location);
        if (
          opts.name === undefined &&
          opts.parent === undefined &&
          plan === undefined &&
          opts.timezone === undefined &&
          location === undefined
        ) {
          throw new TetherError(
            'VALIDATION_FAILED',
            'Say what to change: --name, --parent, --plan, --timezone or --location.',
          );
        }
        const client = await sessionClient(opts.gateway);
        const directory = new Directory(client);
        const orgId = await directory.orgId(ref, '<org>');
        const body = {
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.parent !== undefined ? { parentId: await directory.orgId(opts.parent, '--parent') } : {}),
          ...(plan ? { plan, ...(opts.force ? { force: true } : {}) } : {}),
          ...(opts.timezone !== undefined
            ? { timezone: opts.timezone === 'none' ? null : opts.timezone }
            : {}),
          ...(location !== undefined ? { location } : {}),
        };
        const fields = {
          name: '--name',
          parentId: '--parent',
          plan: '--plan',
          timezone: '--timezone',
          location: '--location',
          'force the change': 'add --force',
        };
        const updated = await withOptions(fields, () =>
          client.request<{ id: string; name: string; effectivePlan: string }>(
            'PATCH',
            `/api/orgs/${encodeURIComponent(orgId)}`,
            body,
          ),
        );
        if (opts.json) printJson(updated);
        else say(safe`Updated ${updated.name} (${updated.id}), plan ${updated.effectivePlan}.`);
      },
    );
}

function parseLatLon(text: string): { lat: number; lon: number } {
  const [lat, lon, ...rest] = text.split(',').map((p) => Number(p.trim()));
  if (rest.length > 0 || !Number.isFinite(lat) || !Number.isFinite(lon))
    throw new TetherError(
      'VALIDATION_FAILED',
      `--location ${text}: write latitude,longitude (e.g. 50.45,30.52).`,
    );
  return { lat: lat as number, lon: lon as number };
}
