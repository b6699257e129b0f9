import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { prompt } from '../cli/prompt.js';

export function deviceDeleteCommand(device: Command): void {
  device
    .command('delete <deviceId>')
    .description('Delete a device: its token is revoked and a connected device is told to wipe itself.')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { yes?: boolean; gateway?: string; json?: boolean }) => {
      if (!opts.yes) {
        const answer = await prompt(`Delete device ${deviceId}? Its token stops working at once. [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new TetherError('VALIDATION_FAILED', 'Not deleted.');
      }
      const client = await sessionClient(opts.gateway);
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
