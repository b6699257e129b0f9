import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function accountShowCommand(account: Command): void {
  account
    .command('show')
    .description('Your account: who you are, your organization, role, type and what you may do.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const me = await client.request<{
        user: { id: string; name: string; email: string; roleId: string; type: string };
        org: { name: string; effectivePlan: string } | null;
        permissions: string[];
        sharedDevices: Array<{ deviceId: string; level: string }>;
      }>('GET', '/api/me');
      if (opts.json) return printJson(me);
      printTable(
        [
          ['name', me.user.name],
          ['email', me.user.email],
          ['organization', me.org ? `${me.org.name} (${me.org.effectivePlan} plan)` : null],
          ['role', me.user.roleId],
          ['type', me.user.type],
          ['permissions', me.permissions.join(', ')],
          ['shared with you', me.sharedDevices.length],
          ['id', me.user.id],
        ].map(([field, value]) => ({ field, value })),
      );
    });
}
