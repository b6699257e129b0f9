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
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        orgId: string,
        opts: { name?: string; parent?: string; plan?: string; gateway?: string; json?: boolean },
      ) => {
        const body = {
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.parent ? { parentId: opts.parent } : {}),
          ...(opts.plan ? { plan: opts.plan } : {}),
        };
        if (Object.keys(body).length === 0) {
          throw new TetherError('VALIDATION_FAILED', 'Say what to change: --name, --parent or --plan.');
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
