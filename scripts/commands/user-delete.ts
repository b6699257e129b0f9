import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm } from '../cli/prompt.js';

export function userDeleteCommand(user: Command): void {
  user
    .command('delete')
    .description(
      'Delete a user in your subtree (asks first); their devices stay in the org without an owner.',
    )
    .argument('<user>', 'user id, email or name')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { yes?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const directory = new Directory(client);
      const userId = await directory.userId(ref, '<user>');
      const who = (await directory.personLabel(userId)) ?? userId;
      const { total } = await client.request<{ total: number }>(
        'GET',
        `/api/devices?ownerId=${encodeURIComponent(userId)}&limit=1`,
      );
      await confirm(
        safe`Delete ${who}? Their sessions end, and the ${total} device(s) they own stay in their organization without an owner.`,
        opts.yes,
      );
      const result = await client.request<{ unownedDevices: number; orgNowEmpty: boolean }>(
        'DELETE',
        `/api/users/${encodeURIComponent(userId)}`,
      );
      if (opts.json) return printJson(result);
      say(
        safe`Deleted ${who}; ${result.unownedDevices} device(s) now have no owner.` +
          (result.orgNowEmpty ? ' Their organization has no members left (it was kept).' : ''),
      );
    });
}
