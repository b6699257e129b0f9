import type { Command } from 'commander';
import { writeMintExport } from '../../gateway/devices/static-token-export.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceDisclaimCommand(device: Command): void {
  device
    .command('disclaim <deviceId>')
    .description('Maker only: take a claimed static-token device back into the pool with a new claim code.')
    .option('-o, --out <dir>', 'also write the new claim code as a QR image (and a CSV row) here')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { out?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{
        device: { id: string; name: string; templateId: string };
        claimCode: string;
      }>('POST', `/api/static-tokens/${encodeURIComponent(deviceId)}/disclaim`);
      if (opts.out) {
        // The device token did not change and is not known here: the CSV row leaves it empty.
        await writeMintExport(opts.out, [
          {
            deviceId: result.device.id,
            name: result.device.name,
            templateId: result.device.templateId,
            token: '',
            claimCode: result.claimCode,
          },
        ]);
      }
      if (opts.json) return printJson(result);
      say(safe`${deviceId} is back in the pool. New claim code (shown once): ${result.claimCode}`);
    });
}
