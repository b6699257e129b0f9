import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, printTable } from '../cli/output.js';

export function invitationListCommand(invitation: Command): void {
  invitation
    .command('list')
    .description('Invitations in your organization and below it (or in one org), newest first.')
    .option('-o, --org <org>', 'only this organization (id or name)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org?: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const directory = new Directory(client);
      const orgId = opts.org ? await directory.orgId(opts.org, '--org') : undefined;
      const { invitations } = await client.request<{
        invitations: Array<{
          id: string;
          email: string;
          orgId: string;
          roleId: string;
          type: string;
          status: string;
          invitedBy: string;
          expiresAt: number;
        }>;
      }>('GET', `/api/invitations${orgId ? `?orgId=${encodeURIComponent(orgId)}` : ''}`);
      if (opts.json) return printJson(invitations);
      const now = Date.now();
      const rows = [];
      for (const i of invitations) {
        rows.push({
          email: i.email,
          org: await directory.orgLabel(i.orgId),
          role: i.roleId,
          type: i.type,
          status: i.status === 'pending' && i.expiresAt <= now ? 'expired' : i.status,
          'invited by': await directory.personLabel(i.invitedBy),
          expires: new Date(i.expiresAt).toISOString(),
          id: i.id,
        });
      }
      printTable(rows);
    });
}
