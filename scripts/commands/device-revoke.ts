import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm } from '../cli/prompt.js';

export function deviceRevokeCommand(device: Command): void {
  device
    .command('revoke <deviceId>')
    .description(
      'Maker only: delete a static token. The device token stops working and a live connection drops.',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { yes?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      await confirm(
        `Revoke the static token of ${deviceId}? The device cannot connect again with it.`,
        opts.yes,
      );
      const d = await client.request<{ id: string; status: string }>(
        'DELETE',
        `/api/static-tokens/${encodeURIComponent(deviceId)}`,
      );
      if (opts.json) printJson(d);
      else say(safe`Revoked the static token of ${d.id}.`);
    });
}
