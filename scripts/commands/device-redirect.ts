import type { Command } from 'commander';
import { ExitCode, TetherError } from '../../shared/errors.js';
import { redirectUrl } from '../../shared/redirect-url.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function deviceRedirectCommand(device: Command): void {
  device
    .command('redirect [deviceIds...]')
    .description(
      'Send downlink/redirect: each device moves to another broker (another gateway node, a new address). Name devices, or --template for every device of a template.',
    )
    .requiredOption(
      '--to <url>',
      'the broker URL, as Blynk sends it: mqtt://host:1883, mqtts://host:8883, wss://host:443/mqtt',
    )
    .option('-t, --template <templateId>', 'every device of this template you may control')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (ids: string[], opts: { to: string; template?: string; gateway?: string; json?: boolean }) => {
        const url = redirectUrl(opts.to); // refused here, before any request
        const client = await sessionClient(opts.gateway);
        const targets = [...ids];
        if (opts.template) {
          const page = await client.request<{ devices: Array<{ id: string }> }>(
            'GET',
            `/api/devices?templateId=${encodeURIComponent(opts.template)}`,
          );
          targets.push(...page.devices.map((d) => d.id));
        }
        if (targets.length === 0)
          throw new TetherError('VALIDATION_FAILED', 'Name the devices to redirect, or give --template.');
        const results: Array<{ deviceId: string; online?: boolean; error?: string }> = [];
        for (const deviceId of new Set(targets)) {
          try {
            const r = await client.request<{ online: boolean }>(
              'POST',
              `/api/devices/${encodeURIComponent(deviceId)}/redirect`,
              { url },
            );
            results.push({ deviceId, online: r.online });
          } catch (error) {
            results.push({ deviceId, error: (error as Error).message });
          }
        }
        if (opts.json) return printJson({ url, results });
        printTable(
          results.map((r) => ({
            device: r.deviceId,
            result: r.error ?? (r.online ? `sent: moving to ${url}` : 'offline: nothing sent'),
          })),
        );
        if (results.some((r) => r.error)) process.exitCode = ExitCode.internal;
      },
    );
}
