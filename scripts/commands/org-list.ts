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
      const { orgs } = await client.request<{ orgs: Array<Record<string, unknown>> }>('GET', '/api/orgs');
      if (opts.json) return printJson(orgs);
      printTable(
        orgs.map((o) => ({
          id: o.id,
          name: `${'  '.repeat(Number(o.depth ?? 0))}${String(o.name)}`,
          kind: o.kind,
          plan: o.effectivePlan,
          parent: o.parentId,
        })),
      );
    });
}
