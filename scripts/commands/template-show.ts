import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable, safe, say } from '../cli/output.js';

export function templateShowCommand(template: Command): void {
  template
    .command('show <templateId>')
    .description('Show a template with its datastreams.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (templateId: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const t = await client.request<{
        id: string;
        name: string;
        hotspotPrefix?: string;
        minSecurity: number;
        datastreams?: Array<Record<string, unknown>>;
      }>('GET', `/api/templates/${encodeURIComponent(templateId)}`);
      if (opts.json) return printJson(t);
      // A client account sees only what provisioning needs: no hotspot prefix, no datastreams.
      const prefix = t.hotspotPrefix === undefined ? '' : safe`  hotspot prefix ${t.hotspotPrefix}`;
      say(safe`${t.id}  ${t.name}${prefix}  min security ${t.minSecurity}`);
      if (t.datastreams) {
        say('');
        printTable(t.datastreams, ['pin', 'name', 'type', 'min', 'max', 'values', 'defaultValue']);
      }
    });
}
