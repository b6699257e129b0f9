import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function orgListCommand(org: Command): void {
  org
    .command('list')
    .description('List your organization and every organization below it.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const { orgs } = await client.request<{
        orgs: Array<{
          id: string;
          name: string;
          depth: number;
          kind: string;
          effectivePlan: string;
          plan: string | null;
          parentId: string | null;
          registration?: { enabled: boolean };
        }>;
      }>('GET', '/api/orgs');
      if (opts.json) return printJson(orgs);
      const names = new Map(orgs.map((o) => [o.id, o.name]));
      printTable(
        orgs.map((o) => ({
          name: `${'  '.repeat(o.depth)}${o.name}`,
          kind: o.kind,
          // A plan of its own (a tenant, or the root) is shown as such; others follow it.
          plan: o.plan ? `${o.plan} (own)` : o.effectivePlan,
          'sign-ups': o.registration?.enabled ? 'on' : '-',
          parent: o.parentId ? (names.get(o.parentId) ?? o.parentId) : null,
          id: o.id,
        })),
      );
    });
}
