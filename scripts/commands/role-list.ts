import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { printJson, printTable, safe, say } from '../cli/output.js';

export function roleListCommand(role: Command): void {
  role
    .command('list')
    .description(
      'List the roles of an organization and their permissions, and which permissions its plan locks.',
    )
    .requiredOption('-o, --org <org>', 'organization (id or name)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const orgId = await new Directory(client).orgId(opts.org, '--org');
      const result = await client.request<{
        roles: Array<{ key: string; name: string; builtIn: boolean; permissions: string[] }>;
        plan: string;
        lockedPermissions: string[];
      }>('GET', `/api/orgs/${encodeURIComponent(orgId)}/roles`);
      if (opts.json) return printJson(result);
      const locked = new Set(result.lockedPermissions);
      // A locked permission is marked with a lock: no role edit may grant or remove it on this plan.
      const mark = (p: string) => (locked.has(p) ? `${p} (locked)` : p);
      printTable(
        result.roles.map((r) => ({
          id: r.key,
          name: r.name,
          builtIn: r.builtIn,
          permissions: r.key === 'admin' ? '(all)' : r.permissions.map(mark).join(', '),
        })),
      );
      say(
        locked.size === 0
          ? safe`\nThe ${result.plan} plan locks no permission.`
          : safe`\nLocked on the ${result.plan} plan (no role edit may change them): ${result.lockedPermissions.join(', ')}.`,
      );
    });
}
