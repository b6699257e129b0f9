import type { Command } from 'commander';
import { readSession, sessionClient, writeSession } from '../cli/cli-context.js';
import { withOptions } from '../cli/options.js';
import { printJson, say } from '../cli/output.js';
import { promptHidden } from '../cli/prompt.js';

export function accountPasswordCommand(account: Command): void {
  account
    .command('password')
    .description(
      'Change your password (needs the current one); your other sessions end, this one carries on.',
    )
    .option('--current <password>', 'your current password (prompted when omitted)')
    .option('--new <password>', 'the new password (prompted when omitted)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { current?: string; new?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const currentPassword =
        opts.current ?? (await promptHidden('Current password: ', { option: '--current' }));
      const newPassword = opts.new ?? (await promptHidden('New password: ', { option: '--new' }));
      const next = await withOptions({ currentPassword: '--current', newPassword: '--new' }, () =>
        client.request<{ accessToken: string; refreshToken: string }>('POST', '/api/me/password', {
          currentPassword,
          newPassword,
        }),
      );
      // Every session ended with the change; this command's continues with the pair it was given.
      const saved = await readSession();
      if (saved)
        await writeSession({ ...saved, accessToken: next.accessToken, refreshToken: next.refreshToken });
      if (opts.json) return printJson({ changed: true });
      say('Password changed; your other sessions were ended.');
    });
}
