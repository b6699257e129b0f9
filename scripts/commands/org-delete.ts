import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function orgDeleteCommand(org: Command): void {
  org
    .command('delete')
    .description('Delete an empty organization; with --force, everything in it and below it.')
    .argument('<orgId>', 'organization id')
    .option('--force', 'also delete its sub-orgs, users, devices and templates')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (orgId: string, opts: { force?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{ deleted: Record<string, number> }>(
        'DELETE',
        `/api/orgs/${encodeURIComponent(orgId)}${opts.force ? '?force=true' : ''}`,
      );
      if (opts.json) return printJson(result);
      const d = result.deleted;
      say(
        safe`Deleted ${orgId} (with ${d.orgs} sub-orgs, ${d.users} users, ${d.devices} devices, ${d.templates} templates).`,
      );
    });
}
