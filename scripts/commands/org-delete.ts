import type { Command } from 'commander';
import { isTetherError, type TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';
import { confirm } from '../cli/prompt.js';

interface Deleted {
  deleted: { orgs: number; users: number; devices: number; templates: number };
}

export function orgDeleteCommand(org: Command): void {
  org
    .command('delete')
    .description('Delete an empty organization; with --force, everything in it and below it (asks first).')
    .argument('<org>', 'organization id or name')
    .option('--force', 'also delete its sub-orgs, users, devices and templates')
    .option('-y, --yes', 'with --force: do not ask for confirmation')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (ref: string, opts: { force?: boolean; yes?: boolean; gateway?: string; json?: boolean }) => {
        const client = await sessionClient(opts.gateway);
        const orgId = await new Directory(client).orgId(ref, '<org>');
        const path = `/api/orgs/${encodeURIComponent(orgId)}`;
        const fields = { 'force=true': '--force' };
        let result: Deleted;
        try {
          // An empty org goes at once; otherwise the answer says what is in it.
          result = await withOptions(fields, () => client.request<Deleted>('DELETE', path));
        } catch (error) {
          if (!opts.force || !isTetherError(error) || error.code !== 'ORG_NOT_EMPTY') throw error;
          const d = (error as TetherError).details as Deleted['deleted'];
          await confirm(
            safe`Delete ${ref} and everything in and below it: ${d.orgs} sub-org(s), ${d.users} user(s) (their sessions end), ${d.devices} device(s) (their tokens stop working) and ${d.templates} template(s)?`,
            opts.yes,
          );
          result = await client.request<Deleted>('DELETE', `${path}?force=true`);
        }
        if (opts.json) return printJson(result);
        const d = result.deleted;
        say(
          safe`Deleted ${ref} (with ${d.orgs} sub-orgs, ${d.users} users, ${d.devices} devices, ${d.templates} templates).`,
        );
      },
    );
}
