import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function deviceEventsCommand(device: Command): void {
  device
    .command('events <deviceId>')
    .description("Show a device's event timeline (event/<code>), newest first.")
    .option('--limit <n>', 'how many events (1-1000)', '50')
    .option('--before <ms>', 'only events before this time (epoch milliseconds)')
    .option('--after <cursor>', 'the next page: the cursor printed under the previous one')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        deviceId: string,
        opts: { limit: string; before?: string; after?: string; gateway?: string; json?: boolean },
      ) => {
        const client = await sessionClient(opts.gateway);
        const query = new URLSearchParams({
          limit: opts.limit,
          ...(opts.before ? { before: opts.before } : {}),
          ...(opts.after ? { after: opts.after } : {}),
        });
        const { events, next } = await client.request<{
          next?: string;
          events: Array<{
            at: number;
            code: string;
            name: string;
            level: string;
            description: string;
            notified: boolean;
          }>;
        }>('GET', `/api/devices/${encodeURIComponent(deviceId)}/events?${query}`);
        if (opts.json) return printJson({ events, ...(next ? { next } : {}) });
        if (events.length === 0) {
          process.stdout.write(`No events for ${deviceId}.\n`);
          return;
        }
        printTable(
          events.map((e) => ({
            at: new Date(e.at).toISOString(),
            level: e.level,
            code: e.code,
            description: e.description,
            mailed: e.notified ? 'yes' : '',
          })),
        );
        if (next) process.stdout.write(`Older events: tether device events ${deviceId} --after ${next}\n`);
      },
    );
}
