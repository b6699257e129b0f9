import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function orgCreateCommand(org: Command): void {
  org
    .command('create')
    .description('Create a sub-organization (below yours, or below --parent).')
    .requiredOption('-n, --name <name>', 'organization name')
    .option('-p, --parent <org>', 'parent organization, id or name (default: yours)')
    .option('--partner', 'a partner organization (enterprise plan)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        name: string;
        parent?: string;
        partner?: boolean;
        gateway?: string;
        json?: boolean;
      }) => {
        const client = await sessionClient(opts.gateway);
        const parentId = opts.parent ? await new Directory(client).orgId(opts.parent, '--parent') : undefined;
        const created = await withOptions({ name: '--name', parentId: '--parent' }, () =>
          client.request<{ id: string; name: string }>('POST', '/api/orgs', {
            name: opts.name,
            ...(parentId ? { parentId } : {}),
            ...(opts.partner ? { kind: 'partner' } : {}),
          }),
        );
        if (opts.json) printJson(created);
        else say(safe`Created organization ${created.name} (${created.id}).`);
      },
    );
}
