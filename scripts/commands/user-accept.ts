import type { Command } from 'commander';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, loginCommandFor } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { promptHidden } from '../cli/prompt.js';

export function userAcceptCommand(user: Command): void {
  user
    .command('accept')
    .description('Accept an invitation: choose your password (the token is in the invitation link).')
    .requiredOption('--token <token>', 'the token from the invitation link')
    .option('-p, --password <password>', 'your new password (prompted when omitted; or TETHER_PASSWORD)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { token: string; password?: string; gateway?: string; json?: boolean }) => {
      const baseUrl = await gatewayUrl(opts.gateway);
      const client = new GatewayClient({ baseUrl });
      const password =
        opts.password ??
        process.env.TETHER_PASSWORD ??
        (await promptHidden('New password: ', { option: '--password', env: 'TETHER_PASSWORD' }));
      const { user: created } = await client.request<{ user: { email: string } }>(
        'POST',
        '/api/invitations/accept',
        { token: opts.token, password },
        { auth: false },
      );
      if (opts.json) return printJson(created);
      say(safe`Welcome, ${created.email}. Next: ${loginCommandFor(baseUrl, created.email)}`);
    });
}
