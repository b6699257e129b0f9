import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function invitationRevokeCommand(invitation: Command): void {
  invitation
    .command('revoke')
    .description('Revoke a pending invitation: its link stops working and the pending account goes.')
    .argument('<invitationId>', 'the invitation (tether invitation list)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      await client.request('DELETE', `/api/invitations/${encodeURIComponent(id)}`);
      if (opts.json) return printJson({ id, status: 'revoked' });
      say(safe`Revoked invitation ${id}.`);
    });
}
