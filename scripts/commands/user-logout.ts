import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, safe, say } from '../cli/output.js';

export function userLogoutCommand(user: Command): void {
  user
    .command('logout')
    .description(
      'End every session of a user in your subtree now (force logout): their access tokens stop working at once.',
    )
    .argument('<user>', 'user id, email or name')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const directory = new Directory(client);
      const userId = await directory.userId(ref, '<user>');
      await client.request('POST', `/api/users/${encodeURIComponent(userId)}/logout`);
      if (opts.json) return printJson({ userId, loggedOut: true });
      say(safe`Ended every session of ${(await directory.personLabel(userId)) ?? userId}.`);
    });
}
