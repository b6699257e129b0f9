import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function userMoveCommand(user: Command): void {
  user
    .command('move')
    .description('Move a user to another organization in your subtree, with a role there.')
    .argument('<userId>', 'user id')
    .requiredOption('-o, --org <orgId>', 'destination organization')
    .option('-r, --role <roleId>', 'their role there', 'user')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (userId: string, opts: { org: string; role: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const moved = await client.request<{ email: string; orgId: string; roleId: string }>(
        'POST',
        `/api/users/${encodeURIComponent(userId)}/move`,
        { orgId: opts.org, roleId: opts.role },
      );
      if (opts.json) return printJson(moved);
      say(safe`Moved ${moved.email} to ${moved.orgId} as ${moved.roleId}.`);
    });
}
