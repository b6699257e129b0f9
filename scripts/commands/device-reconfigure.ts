import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceReconfigureCommand(device: Command): void {
  device
    .command('reconfigure <deviceId>')
    .description('Send downlink/reconfigure: the device re-enters provisioning without a reset button.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{ online: boolean }>(
        'POST',
        `/api/devices/${encodeURIComponent(deviceId)}/reconfigure`,
      );
      if (opts.json) return printJson(result);
      say(
        result.online
          ? safe`Sent: ${deviceId} is entering provisioning mode.`
          : safe`${deviceId} is offline: nothing was sent. Use the reset button, or retry when it is online.`,
      );
    });
}
