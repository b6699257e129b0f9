import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';

export function logoutCommand(program: Command): void {
  program
    .command('logout')
    .description('End the saved session and forget its tokens.')
    .option('-g, --gateway <url>', 'gateway URL')
    .action(async (opts: { gateway?: string }) => {
      const client = await sessionClient(opts.gateway);
      await client.logout();
      process.stdout.write('Logged out.\n');
    });
}
