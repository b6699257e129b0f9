import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function roleDeleteCommand(role: Command): void {
  role
    .command('delete')
    .description('Delete a role; its users move to --move-to. Admin cannot be deleted.')
    .argument('<roleId>', 'role id')
    .requiredOption('-o, --org <orgId>', 'organization')
    .option('--move-to <roleId>', 'the role its users move to')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (roleId: string, opts: { org: string; moveTo?: string; gateway?: string; json?: boolean }) => {
        const client = await sessionClient(opts.gateway);
        const query = opts.moveTo ? `?moveUsersTo=${encodeURIComponent(opts.moveTo)}` : '';
        const result = await client.request<{ movedUsers: number }>(
          'DELETE',
          `/api/orgs/${encodeURIComponent(opts.org)}/roles/${encodeURIComponent(roleId)}${query}`,
        );
        if (opts.json) return printJson(result);
        say(safe`Deleted role ${roleId}; ${result.movedUsers} user(s) moved.`);
      },
    );
}
