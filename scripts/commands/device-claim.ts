import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceClaimCommand(device: Command): void {
  device
    .command('claim <code>')
    .description('Claim a static-token device with the code (or QR text) on its label.')
    .option('-n, --name <name>', 'name the device')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (code: string, opts: { name?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const d = await client.request<{ id: string; name: string }>('POST', '/api/claims', {
        claimCode: code,
        ...(opts.name ? { name: opts.name } : {}),
      });
      if (opts.json) printJson(d);
      else say(safe`Claimed ${d.id} ("${d.name}"): it is yours now.`);
    });
}
