import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm } from '../cli/prompt.js';

export function deviceDeleteCommand(device: Command): void {
  device
    .command('delete <deviceId>')
    .description('Delete a device: its token is revoked and a connected device is told to wipe itself.')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { yes?: boolean; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      await confirm(`Delete device ${deviceId}? Its token stops working at once.`, opts.yes);
      const result = await client.request<{ wasOnline: boolean }>(
        'DELETE',
        `/api/devices/${encodeURIComponent(deviceId)}`,
      );
      if (opts.json) printJson(result);
      else
        say(
          safe`Deleted ${deviceId}${result.wasOnline ? '; it was online and was told to wipe itself' : ''}.`,
        );
    });
}
