import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function roleDeleteCommand(role: Command): void {
  role
    .command('delete')
    .description('Delete a role; its users move to --move-to. Admin cannot be deleted.')
    .argument('<roleId>', 'role id')
    .requiredOption('-o, --org <org>', 'organization (id or name)')
    .option('--move-to <roleId>', 'the role its users move to')
    .option('--sub-orgs', 'also delete the copies of the role in the organizations below')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        roleId: string,
        opts: { org: string; moveTo?: string; subOrgs?: boolean; gateway?: string; json?: boolean },
      ) => {
        const client = await sessionClient(opts.gateway);
        const orgId = await new Directory(client).orgId(opts.org, '--org');
        const query = new URLSearchParams();
        if (opts.moveTo) query.set('moveUsersTo', opts.moveTo);
        if (opts.subOrgs) query.set('subOrgs', 'true');
        const result = await withOptions(
          { 'moveUsersTo=<role>': '--move-to <role>', moveUsersTo: '--move-to' },
          () =>
            client.request<{ movedUsers: number; orgs: number }>(
              'DELETE',
              `/api/orgs/${encodeURIComponent(orgId)}/roles/${encodeURIComponent(roleId)}${query.size ? `?${query}` : ''}`,
            ),
        );
        if (opts.json) return printJson(result);
        say(
          safe`Deleted role ${roleId} in ${result.orgs} organization(s); ${result.movedUsers} user(s) moved${opts.moveTo ? safe` to ${opts.moveTo}` : ''}.`,
        );
      },
    );
}
