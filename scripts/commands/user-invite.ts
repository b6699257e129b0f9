import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function userInviteCommand(user: Command): void {
  user
    .command('invite')
    .description(
      'Invite someone by email (only an address with no account); the link is valid 30 days, once.',
    )
    .argument('<email>', 'their email address')
    .option('-r, --role <roleId>', 'role: admin, staff, user or a custom role id', 'user')
    .option('-o, --org <orgId>', 'organization they join (default: yours)')
    .option('-t, --type <type>', 'developer, client or partner', 'client')
    .option('-n, --name <name>', 'their name')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        email: string,
        opts: { role: string; org?: string; type: string; name?: string; gateway?: string; json?: boolean },
      ) => {
        const client = await sessionClient(opts.gateway);
        const invitation = await client.request<{ id: string; email: string; expiresAt: number }>(
          'POST',
          '/api/invitations',
          {
            email,
            roleId: opts.role,
            type: opts.type,
            ...(opts.org ? { orgId: opts.org } : {}),
            ...(opts.name ? { name: opts.name } : {}),
          },
        );
        if (opts.json) return printJson(invitation);
        say(
          safe`Invited ${invitation.email} (invitation ${invitation.id}, valid until ${new Date(invitation.expiresAt).toISOString()}).`,
        );
      },
    );
}
