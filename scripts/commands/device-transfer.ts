import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceTransferCommand(device: Command): void {
  device
    .command('transfer <deviceId>')
    .description('Move a device to a user (in their org, owned by them) or to an org (unowned).')
    .option('--user <user>', 'the new owner: id, email or name')
    .option('--org <org>', 'the new organization: id or name')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (deviceId: string, opts: { user?: string; org?: string; gateway?: string; json?: boolean }) => {
        if (!opts.user && !opts.org) throw new TetherError('VALIDATION_FAILED', 'Name --user or --org.');
        const client = await sessionClient(opts.gateway);
        const directory = new Directory(client);
        const userId = opts.user ? await directory.userId(opts.user, '--user') : undefined;
        const orgId = opts.org ? await directory.orgId(opts.org, '--org') : undefined;
        const d = await withOptions({ userId: '--user', orgId: '--org' }, () =>
          client.request<{ id: string; orgId: string; ownerId: string | null }>(
            'POST',
            `/api/devices/${encodeURIComponent(deviceId)}/transfer`,
            { ...(userId ? { userId } : {}), ...(orgId ? { orgId } : {}) },
          ),
        );
        if (opts.json) return printJson(d);
        const owner = await directory.personLabel(d.ownerId);
        say(
          safe`Transferred ${d.id} to ${await directory.orgLabel(d.orgId)}${owner ? safe`, owner ${owner}` : ''}.`,
        );
      },
    );
}
