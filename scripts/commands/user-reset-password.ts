import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson } from '../cli/output.js';
import { promptHidden } from '../cli/prompt.js';

export function userResetPasswordCommand(user: Command): void {
  user
    .command('reset-password')
    .description(
      'As an admin: reset a user’s password (mail them a link, or set --password); their sessions end. ' +
        'With --token: finish a reset from the link you were mailed. With --email: ask for such a link.',
    )
    .argument('[user]', 'the user whose password an admin resets: id, email or name')
    .option('--token <token>', 'the token from a reset link')
    .option('--email <email>', 'mail a reset link to this address (forgot password)')
    .option('-p, --password <password>', 'the new password (prompted with --token when omitted)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string | undefined,
        opts: { token?: string; email?: string; password?: string; gateway?: string; json?: boolean },
      ) => {
        const anonymous = new GatewayClient({ baseUrl: await gatewayUrl(opts.gateway) });
        if (opts.email) {
          await anonymous.request(
            'POST',
            '/api/auth/forgot-password',
            { email: opts.email },
            { auth: false },
          );
          if (opts.json) return printJson({ status: 'accepted' });
          process.stdout.write('If that address has an account, a reset link is on its way.\n');
          return;
        }
        if (opts.token) {
          const password =
            opts.password ??
            process.env.TETHER_PASSWORD ??
            (await promptHidden('New password: ', { option: '--password', env: 'TETHER_PASSWORD' }));
          await anonymous.request(
            'POST',
            '/api/auth/reset-password',
            { token: opts.token, password },
            { auth: false },
          );
          if (opts.json) return printJson({ status: 'reset' });
          process.stdout.write('Password changed. Log in with the new one.\n');
          return;
        }
        if (!ref) throw new TetherError('VALIDATION_FAILED', 'Name the user, or pass --token or --email.');
        const client = await sessionClient(opts.gateway);
        const userId = await new Directory(client).userId(ref, '<user>');
        const result = await client.request<{ mailed: boolean }>(
          'POST',
          `/api/users/${encodeURIComponent(userId)}/reset-password`,
          opts.password ? { password: opts.password } : {},
        );
        if (opts.json) return printJson(result);
        process.stdout.write(
          result.mailed
            ? 'A reset link was mailed; their sessions ended.\n'
            : 'Password set; their sessions ended, and they were told by mail (without the password).\n',
        );
      },
    );
}
