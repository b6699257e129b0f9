import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { note, printJson, printTable, safe } from '../cli/output.js';

interface DeviceRow {
  id: string;
  name: string;
  status: string;
  online: boolean;
  templateId: string;
  ownerId: string | null;
  lastSeenAt: number | null;
}

export function deviceListCommand(device: Command): void {
  device
    .command('list')
    .description('List the devices you may see.')
    .option('-t, --template <id>', 'only devices of this template')
    .option('--owner <user>', 'only devices of this owner: id, email or name')
    .option('--status <status>', 'pending, active, unclaimed or revoked')
    .option('--online', 'only online devices')
    .option('--offline', 'only offline devices')
    .option('--limit <n>', 'at most N devices (1–5000), in creation order')
    .option('--offset <n>', 'skip the first N devices (with --limit: the next page)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        template?: string;
        owner?: string;
        status?: string;
        online?: boolean;
        offline?: boolean;
        limit?: string;
        offset?: string;
        gateway?: string;
        json?: boolean;
      }) => {
        const client = await sessionClient(opts.gateway);
        const directory = new Directory(client);
        const query = new URLSearchParams();
        if (opts.template) query.set('templateId', opts.template);
        if (opts.owner) query.set('ownerId', await directory.userId(opts.owner, '--owner'));
        if (opts.status) query.set('status', opts.status);
        if (opts.online) query.set('online', 'true');
        if (opts.offline) query.set('online', 'false');
        if (opts.limit) query.set('limit', opts.limit);
        if (opts.offset) query.set('offset', opts.offset);
        const { devices, total, offset } = await client.request<{
          devices: DeviceRow[];
          total: number;
          offset: number;
        }>('GET', `/api/devices${query.size ? `?${query}` : ''}`);
        if (opts.json) return printJson(devices);
        const rows = [];
        for (const d of devices) {
          rows.push({
            id: d.id,
            name: d.name,
            status: d.status,
            online: d.online ? 'yes' : 'no',
            template: d.templateId,
            owner: await directory.personLabel(d.ownerId),
            lastSeen: d.lastSeenAt ? new Date(d.lastSeenAt).toISOString() : null,
          });
        }
        printTable(rows);
        if (devices.length < total) {
          note(safe`(${offset + 1}–${offset + devices.length} of ${total}; --offset for more)`);
        }
      },
    );
}
