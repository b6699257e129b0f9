import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function deviceShowCommand(device: Command): void {
  device
    .command('show <deviceId>')
    .description('Show a device with its latest datastream values.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const d = await client.request<Record<string, unknown>>(
        'GET',
        `/api/devices/${encodeURIComponent(deviceId)}`,
      );
      if (opts.json) return printJson(d);
      const { values, ...rest } = d as { values: Record<string, { value: unknown; at: number }> };
      // Times are epoch milliseconds on the wire; a person reads them as dates.
      const readable = (field: string, value: unknown) =>
        field.endsWith('At') && typeof value === 'number' ? new Date(value).toISOString() : value;
      printTable(Object.entries(rest).map(([field, value]) => ({ field, value: readable(field, value) })));
      process.stdout.write('\n');
      printTable(
        Object.entries(values ?? {}).map(([name, v]) => ({
          datastream: name,
          value: v.value,
          at: new Date(v.at).toISOString(),
        })),
      );
    });
}
