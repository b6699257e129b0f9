import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, safe, say } from '../cli/output.js';

export function roleCreateCommand(role: Command): void {
  role
    .command('create')
    .description('Create a custom role (enterprise plan) in an organization and the ones below it.')
    .requiredOption('-o, --org <org>', 'organization (id or name)')
    .requiredOption('-n, --name <name>', 'role name')
    .option('-p, --permission <name...>', 'permissions (see GET /api/permissions)', [])
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: { org: string; name: string; permission: string[]; gateway?: string; json?: boolean }) => {
        const client = await sessionClient(opts.gateway);
        const orgId = await new Directory(client).orgId(opts.org, '--org');
        const created = await client.request<{ key: string; name: string }>(
          'POST',
          `/api/orgs/${encodeURIComponent(orgId)}/roles`,
          { name: opts.name, permissions: opts.permission },
        );
        if (opts.json) return printJson(created);
        say(safe`Created role ${created.key} (${created.name}).`);
      },
    );
}
