import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceWriteCommand(device: Command): void {
  device
    .command('write <deviceId> <datastream> <value>')
    .description('Set a datastream; an online device receives it on downlink/ds/<datastream>.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        deviceId: string,
        datastream: string,
        value: string,
        opts: { gateway?: string; json?: boolean },
      ) => {
        const client = await sessionClient(opts.gateway);
        const result = await client.request<{ value: unknown; online: boolean }>(
          'PUT',
          `/api/devices/${encodeURIComponent(deviceId)}/datastreams/${encodeURIComponent(datastream)}`,
          { value },
        );
        if (opts.json) return printJson(result);
        say(
          safe`${datastream} = ${JSON.stringify(result.value)}${result.online ? '' : ' (device offline: it gets the value with get/ds)'}`,
        );
      },
    );
}
