import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function userListCommand(user: Command): void {
  user
    .command('list')
    .description('List the users in your organization and below it (or in one org).')
    .option('-o, --org <orgId>', 'only this organization')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const query = opts.org ? `?orgId=${encodeURIComponent(opts.org)}` : '';
      const { users } = await client.request<{ users: Array<Record<string, unknown>> }>(
        'GET',
        `/api/users${query}`,
      );
      if (opts.json) return printJson(users);
      printTable(
        users.map((u) => ({
          id: u.id,
          email: u.email,
          role: u.roleId,
          type: u.type,
          status: u.status,
          org: u.orgId,
        })),
      );
    });
}
