import type { Command } from 'commander';
import { USER_TYPES } from '../../shared/permissions.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { oneOf, withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function userInviteCommand(user: Command): void {
  user
    .command('invite')
    .description(
      'Invite someone by email (only an address with no account); the link is valid 30 days, once.',
    )
    .argument('<email>', 'their email address')
    .option('-r, --role <roleId>', 'role: admin, staff, user or a custom role id', 'user')
    .option('-o, --org <org>', 'organization they join, id or name (default: yours)')
    .option(
      '-t, --type <type>',
      `${USER_TYPES.join(', ')} (default: partner in a partner org, client in a client org, else developer)`,
    )
    .option('-n, --name <name>', 'their name')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        email: string,
        opts: { role: string; org?: string; type?: string; name?: string; gateway?: string; json?: boolean },
      ) => {
        const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, USER_TYPES);
        const client = await sessionClient(opts.gateway);
        const orgId = opts.org ? await new Directory(client).orgId(opts.org, '--org') : undefined;
        const invitation = await withOptions(
          { email: '<email>', roleId: '--role', orgId: '--org', type: '--type', name: '--name' },
          () =>
            client.request<{ id: string; email: string; expiresAt: number }>('POST', '/api/invitations', {
              email,
              roleId: opts.role,
              ...(type ? { type } : {}),
              ...(orgId ? { orgId } : {}),
              ...(opts.name ? { name: opts.name } : {}),
            }),
        );
        if (opts.json) return printJson(invitation);
        say(
          safe`Invited ${invitation.email} (invitation ${invitation.id}, valid until ${new Date(invitation.expiresAt).toISOString()}).`,
        );
      },
    );
}
