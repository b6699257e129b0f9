import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, printTable } from '../cli/output.js';

export function shareListCommand(share: Command): void {
  share
    .command('list')
    .description('With a device: who it is shared with. Without: the devices others share with you.')
    .argument('[deviceId]', 'a device you own or manage')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string | undefined, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      if (deviceId) {
        const { shares } = await client.request<{
          shares: Array<{ id: string; email: string; level: string; grantedBy: string; createdAt: number }>;
        }>('GET', `/api/devices/${encodeURIComponent(deviceId)}/shares`);
        if (opts.json) return printJson(shares);
        const directory = new Directory(client);
        const rows = [];
        for (const s of shares) {
          rows.push({
            email: s.email,
            level: s.level,
            'shared by': await directory.personLabel(s.grantedBy),
            since: new Date(s.createdAt).toISOString(),
            id: s.id,
          });
        }
        return printTable(rows);
      }
      const { shared } = await client.request<{
        shared: Array<{ level: string; device: { id: string; name: string; status: string } }>;
      }>('GET', '/api/shares');
      if (opts.json) return printJson(shared);
      printTable(
        shared.map((s) => ({
          device: s.device.name,
          level: s.level,
          status: s.device.status,
          id: s.device.id,
        })),
      );
    });
}
