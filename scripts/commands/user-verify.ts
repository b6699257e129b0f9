import type { Command } from 'commander';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, loginCommandFor } from '../cli/cli-context.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';
import { promptHidden } from '../cli/prompt.js';

export function userVerifyCommand(user: Command): void {
  user
    .command('verify')
    .description('Finish a sign-up: confirm your address with the token from the mail and choose a password.')
    .requiredOption('--token <token>', 'the token from the verification mail')
    .option('-p, --password <password>', 'your new password (prompted when omitted; or TETHER_PASSWORD)')
    .option('-n, --name <name>', 'your name')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: { token: string; password?: string; name?: string; gateway?: string; json?: boolean }) => {
        const baseUrl = await gatewayUrl(opts.gateway);
        const client = new GatewayClient({ baseUrl });
        const password =
          opts.password ??
          process.env.TETHER_PASSWORD ??
          (await promptHidden('New password: ', { option: '--password', env: 'TETHER_PASSWORD' }));
        const { user: created } = await withOptions(
          { token: '--token', password: '--password', name: '--name' },
          () =>
            client.request<{ user: { email: string } }>(
              'POST',
              '/api/registrations/verify',
              { token: opts.token, password, ...(opts.name ? { name: opts.name } : {}) },
              { auth: false },
            ),
        );
        if (opts.json) return printJson(created);
        say(safe`Welcome, ${created.email}. Next: ${loginCommandFor(baseUrl, created.email)}`);
      },
    );
}
