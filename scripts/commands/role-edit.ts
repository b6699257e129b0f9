import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, safe, say } from '../cli/output.js';

export function roleEditCommand(role: Command): void {
  role
    .command('edit')
    .description('Set a role’s permissions (pro and enterprise plans) or rename a custom role.')
    .argument('<roleId>', 'staff, user or a custom role id')
    .requiredOption('-o, --org <org>', 'organization (id or name)')
    .option('-n, --name <name>', 'new name (custom roles)')
    .option('-p, --permission <name...>', 'the complete new set of permissions')
    .option('--sub-orgs', 'apply to the organizations below too')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        roleId: string,
        opts: {
          org: string;
          name?: string;
          permission?: string[];
          subOrgs?: boolean;
          gateway?: string;
          json?: boolean;
        },
      ) => {
        if (!opts.name && !opts.permission) {
          throw new TetherError('VALIDATION_FAILED', 'Say what to change: --name or --permission.');
        }
        const client = await sessionClient(opts.gateway);
        const orgId = await new Directory(client).orgId(opts.org, '--org');
        const updated = await client.request<{ key: string; name: string; permissions: string[] }>(
          'PATCH',
          `/api/orgs/${encodeURIComponent(orgId)}/roles/${encodeURIComponent(roleId)}`,
          {
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.permission ? { permissions: opts.permission } : {}),
            ...(opts.subOrgs ? { applyToSubOrgs: true } : {}),
          },
        );
        if (opts.json) return printJson(updated);
        say(safe`Role ${updated.name}: ${updated.permissions.join(', ') || '(no permissions)'}.`);
      },
    );
}
