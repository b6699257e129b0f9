import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function userDeleteCommand(user: Command): void {
  user
    .command('delete')
    .description('Delete a user in your subtree; their devices stay in the org without an owner.')
    .argument('<userId>', 'user id')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (userId: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{ unownedDevices: number; orgNowEmpty: boolean }>(
        'DELETE',
        `/api/users/${encodeURIComponent(userId)}`,
      );
      if (opts.json) return printJson(result);
      say(
        safe`Deleted ${userId}; ${result.unownedDevices} device(s) now have no owner.` +
          (result.orgNowEmpty ? ' Their organization has no members left (it was kept).' : ''),
      );
    });
}
