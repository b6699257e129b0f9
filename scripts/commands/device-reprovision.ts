import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceReprovisionCommand(device: Command): void {
  device
    .command('reprovision <deviceId>')
    .description('Issue a new token for the same device (data kept); the old token stops working at once.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{ token: string; wasOnline: boolean }>(
        'POST',
        `/api/devices/${encodeURIComponent(deviceId)}/reprovision`,
      );
      if (opts.json) return printJson({ deviceId, ...result });
      say(safe`New token for ${deviceId} (shown once): ${result.token}`);
      if (result.wasOnline) say('Its connection with the old token was dropped.');
    });
}
