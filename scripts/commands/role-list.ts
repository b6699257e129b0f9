import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function roleListCommand(role: Command): void {
  role
    .command('list')
    .description('List the roles of an organization and their permissions.')
    .requiredOption('-o, --org <orgId>', 'organization')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const { roles } = await client.request<{
        roles: Array<{ key: string; name: string; builtIn: boolean; permissions: string[] }>;
      }>('GET', `/api/orgs/${encodeURIComponent(opts.org)}/roles`);
      if (opts.json) return printJson(roles);
      printTable(
        roles.map((r) => ({
          id: r.key,
          name: r.name,
          builtIn: r.builtIn,
          permissions: r.key === 'admin' ? '(all)' : r.permissions.join(','),
        })),
      );
    });
}
