import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function templateListCommand(template: Command): void {
  template
    .command('list')
    .description('List the templates you may use.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const { templates } = await client.request<{ templates: Array<Record<string, unknown>> }>(
        'GET',
        '/api/templates',
      );
      if (opts.json) return printJson(templates);
      printTable(
        templates.map((t) => ({
          id: t.id,
          name: t.name,
          datastreams: (t.datastreams as Array<{ name: string }> | undefined)?.map((d) => d.name).join(','),
          minSecurity: t.minSecurity,
        })),
      );
    });
}
