import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, printTable } from '../cli/output.js';

export function userListCommand(user: Command): void {
  user
    .command('list')
    .description('List the users in your organization and below it (or in one org).')
    .option('-o, --org <org>', 'only this organization (id or name)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const directory = new Directory(client);
      const orgId = opts.org ? await directory.orgId(opts.org, '--org') : undefined;
      const { users } = await client.request<{
        users: Array<{
          id: string;
          name: string;
          email: string;
          roleId: string;
          type: string;
          status: string;
          orgId: string;
        }>;
      }>('GET', `/api/users${orgId ? `?orgId=${encodeURIComponent(orgId)}` : ''}`);
      if (opts.json) return printJson(users);
      const rows = [];
      for (const u of users) {
        rows.push({
          name: u.name,
          email: u.email,
          role: u.roleId,
          type: u.type,
          status: u.status,
          org: await directory.orgLabel(u.orgId),
          id: u.id,
        });
      }
      printTable(rows);
    });
}
