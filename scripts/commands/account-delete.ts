import type { Command } from 'commander';
import { sessionClient, writeSession } from '../cli/cli-context.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm, promptHidden } from '../cli/prompt.js';

export function accountDeleteCommand(account: Command): void {
  account
    .command('delete')
    .description(
      'Delete your own account (needs your password; asks first). Devices you own stay, without an owner.',
    )
    .option('-p, --password <password>', 'your password (prompted when omitted; or TETHER_PASSWORD)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { password?: string; yes?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const me = await client.request<{ user: { email: string } }>('GET', '/api/me');
      await confirm(safe`Delete your account ${me.user.email}? This cannot be undone.`, opts.yes);
      const password =
        opts.password ??
        process.env.TETHER_PASSWORD ??
        (await promptHidden('Your password: ', { option: '--password', env: 'TETHER_PASSWORD' }));
      const result = await withOptions({ password: '--password' }, () =>
        client.request<{ unownedDevices: number }>('DELETE', '/api/me', { password }),
      );
      await writeSession(undefined);
      if (opts.json) return printJson(result);
      say(safe`Deleted ${me.user.email}; ${result.unownedDevices} device(s) you owned have no owner now.`);
    });
}
