import type { Command } from 'commander';
import { ExitCode } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson } from '../cli/output.js';

export function devicePingCommand(device: Command): void {
  device
    .command('ping <deviceId>')
    .description(
      'Send downlink/ping (QoS 1) and wait for the device to acknowledge it: prints the round trip.',
    )
    .option('--timeout <ms>', 'how long to wait for the answer', '5000')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { timeout: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const result = await client.request<{ online: boolean; answered: boolean; rttMs?: number }>(
        'POST',
        `/api/devices/${encodeURIComponent(deviceId)}/ping?timeoutMs=${encodeURIComponent(opts.timeout)}`,
      );
      if (opts.json) return printJson(result);
      if (!result.online) process.stdout.write(`${deviceId} is offline.\n`);
      else if (!result.answered)
        process.stdout.write(`${deviceId} did not answer within ${opts.timeout} ms.\n`);
      else process.stdout.write(`${deviceId} answered in ${result.rttMs} ms.\n`);
      if (!result.answered) process.exitCode = ExitCode.unavailable;
    });
}
