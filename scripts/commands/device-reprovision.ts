import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm } from '../cli/prompt.js';

export function deviceReprovisionCommand(device: Command): void {
  device
    .command('reprovision <deviceId>')
    .description(
      'Issue a new token for the same device (data kept); the old token stops working at once (asks first).',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { yes?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const d = await client.request<{ name: string; online: boolean }>(
        'GET',
        `/api/devices/${encodeURIComponent(deviceId)}`,
      );
      await confirm(
        safe`Re-provision ${d.name} (${deviceId})? Its current token stops working at once${d.online ? ' and its live connection is dropped' : ''}; it works again only once flashed or provisioned with the new token.`,
        opts.yes,
      );
      const result = await client.request<{ token: string; wasOnline: boolean }>(
        'POST',
        `/api/devices/${encodeURIComponent(deviceId)}/reprovision`,
      );
      if (opts.json) return printJson({ deviceId, ...result });
      say(safe`New token for ${deviceId} (shown once): ${result.token}`);
      if (result.wasOnline) say('Its connection with the old token was dropped.');
    });
}
