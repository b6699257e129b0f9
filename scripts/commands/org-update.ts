import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function orgUpdateCommand(org: Command): void {
  org
    .command('update')
    .description('Rename an organization, move it below another one in your subtree, or set a root’s plan.')
    .argument('<orgId>', 'organization id')
    .option('-n, --name <name>', 'new name')
    .option('-p, --parent <orgId>', 'new parent organization')
    .option('--plan <plan>', 'plan of a root organization: free, pro or enterprise')
    .option(
      '--timezone <zone>',
      "devices' time zone when they know none (IANA, e.g. Europe/Kyiv; 'none' clears)",
    )
    .option('--location <lat,lon>', "devices' location when they know none (e.g. 50.45,30.52; 'none' clears)")
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        orgId: string,
        opts: {
          name?: string;
          parent?: string;
          plan?: string;
          timezone?: string;
          location?: string;
          gateway?: string;
          json?: boolean;
        },
      ) => {
        const body = {
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.parent ? { parentId: opts.parent } : {}),
          ...(opts.plan ? { plan: opts.plan } : {}),
          ...(opts.timezone ? { timezone: opts.timezone === 'none' ? null : opts.timezone } : {}),
          ...(opts.location
            ? { location: opts.location === 'none' ? null : parseLatLon(opts.location) }
            : {}),
        };
        if (Object.keys(body).length === 0) {
          throw new TetherError(
            'VALIDATION_FAILED',
            'Say what to change: --name, --parent, --plan, --timezone or --location.',
          );
        }
        const client = await sessionClient(opts.gateway);
        const updated = await client.request<{ id: string; name: string; effectivePlan: string }>(
          'PATCH',
          `/api/orgs/${encodeURIComponent(orgId)}`,
          body,
        );
        if (opts.json) printJson(updated);
        else say(safe`Updated ${updated.id} (${updated.name}, plan ${updated.effectivePlan}).`);
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
