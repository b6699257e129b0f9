import type { Command } from 'commander';
import { GatewayClient } from '../../shared/gateway-client.js';
import { gatewayUrl, readSession, writeSession } from '../cli/cli-context.js';
import { safe, say } from '../cli/output.js';

export function logoutCommand(program: Command): void {
  program
    .command('logout')
    .description(
      'End the saved session at the gateway (its access token stops working at once) and forget it.',
    )
    .option('-g, --gateway <url>', 'gateway URL')
    .action(async (opts: { gateway?: string }) => {
      const saved = await readSession();
      const baseUrl = await gatewayUrl(opts.gateway);
      if (!saved || saved.gatewayUrl !== baseUrl) {
        say(safe`You were not logged in to ${baseUrl}.`);
        return;
      }
      await new GatewayClient({ baseUrl, session: saved }).logout();
      await writeSession(undefined);
      say(safe`Logged out of ${baseUrl}.`);
    });
}
