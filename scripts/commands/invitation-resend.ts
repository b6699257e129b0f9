import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function invitationResendCommand(invitation: Command): void {
  invitation
    .command('resend')
    .description(
      'Send a pending (or expired) invitation again: a new link, valid the full term; the old one dies.',
    )
    .argument('<invitationId>', 'the invitation (tether invitation list)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const sent = await client.request<{ id: string; email: string; expiresAt: number }>(
        'POST',
        `/api/invitations/${encodeURIComponent(id)}/resend`,
      );
      if (opts.json) return printJson(sent);
      say(
        safe`Sent again to ${sent.email} (invitation ${sent.id}, valid until ${new Date(sent.expiresAt).toISOString()}).`,
      );
    });
}
