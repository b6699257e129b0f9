import type { Command } from 'commander';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl } from '../cli/cli-context.js';
import { withOptions } from '../cli/options.js';
import { printJson, say } from '../cli/output.js';

export function userRegisterCommand(user: Command): void {
  user
    .command('register')
    .description(
      'Sign up with a maker that takes sign-ups: a verification link is mailed (finish with tether user verify).',
    )
    .requiredOption('-o, --org <orgId>', "the maker's organization id (the maker gives it)")
    .requiredOption('-e, --email <email>', 'your email address')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; email: string; gateway?: string; json?: boolean }) => {
      const client = new GatewayClient({ baseUrl: await gatewayUrl(opts.gateway) });
      await withOptions({ orgId: '--org', email: '--email' }, () =>
        client.request('POST', '/api/registrations', { orgId: opts.org, email: opts.email }, { auth: false }),
      );
      if (opts.json) return printJson({ status: 'accepted' });
      say('Check your mail: the link (or the command in it) finishes the sign-up within 24 hours.');
    });
}
