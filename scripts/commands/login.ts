import type { Command } from 'commander';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, writeSession } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { promptHidden } from '../cli/prompt.js';

export function loginCommand(program: Command): void {
  program
    .command('login')
    .description('Log in to a gateway and save the session (in $TETHER_HOME, default ~/.tether).')
    .requiredOption('-e, --email <email>', 'your account email')
    .option('-p, --password <password>', 'your password (prompted when omitted; or TETHER_PASSWORD)')
    .option('-g, --gateway <url>', 'gateway URL (default: TETHER_GATEWAY_URL or http://127.0.0.1:8080)')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; password?: string; gateway?: string; json?: boolean }) => {
      const baseUrl = await gatewayUrl(opts.gateway);
      const password =
        opts.password ??
        process.env.TETHER_PASSWORD ??
        (await promptHidden('Password: ', { option: '--password', env: 'TETHER_PASSWORD' }));
      let tokens: { accessToken: string; refreshToken: string } | undefined;
      const client = new GatewayClient({
        baseUrl,
        onSession: (s) => {
          tokens = s;
        },
      });
      const { user } = await client.login(opts.email, password);
      if (!tokens) throw new Error('login returned no session');
      await writeSession({ ...tokens, gatewayUrl: baseUrl, email: user.email });
      if (opts.json) printJson({ user, gatewayUrl: baseUrl });
      else say(safe`Logged in to ${baseUrl} as ${user.email}.`);
    });
}
