import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceRenameCommand(device: Command): void {
  device
    .command('rename <deviceId> <name>')
    .description('Rename a device.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, name: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const d = await client.request<{ id: string; name: string }>(
        'PATCH',
        `/api/devices/${encodeURIComponent(deviceId)}`,
        { name },
      );
      if (opts.json) printJson(d);
      else say(safe`Renamed ${d.id} to "${d.name}".`);
    });
}
