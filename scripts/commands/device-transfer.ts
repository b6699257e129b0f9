import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function deviceTransferCommand(device: Command): void {
  device
    .command('transfer <deviceId>')
    .description('Move a device to a user (in their org, owned by them) or to an org (unowned).')
    .option('--user <userId>', 'the new owner')
    .option('--org <orgId>', 'the new organization')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (deviceId: string, opts: { user?: string; org?: string; gateway?: string; json?: boolean }) => {
        if (!opts.user && !opts.org) throw new TetherError('VALIDATION_FAILED', 'Name --user or --org.');
        const client = await sessionClient(opts.gateway);
        const d = await client.request<{ id: string; orgId: string; ownerId: string | null }>(
          'POST',
          `/api/devices/${encodeURIComponent(deviceId)}/transfer`,
          { ...(opts.user ? { userId: opts.user } : {}), ...(opts.org ? { orgId: opts.org } : {}) },
        );
        if (opts.json) printJson(d);
        else say(safe`Transferred ${d.id} to org ${d.orgId}${d.ownerId ? safe`, owner ${d.ownerId}` : ''}.`);
      },
    );
}
