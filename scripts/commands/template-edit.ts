import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';
import { parseDatastreamSpec, parseEventSpec } from './template-create.js';

export function templateEditCommand(template: Command): void {
  template
    .command('edit <templateId>')
    .description(
      'Edit a template: name, datastreams or events (each replaces its list), hotspot prefix, minimum security.',
    )
    .option('-n, --name <name>', 'new name')
    .option('-d, --datastream <spec...>', 'the full datastream list, name:type[:min:max][:sync]')
    .option('-e, --event <spec...>', 'the full event list, code:name[:level][:notify]')
    .option('--hotspot-prefix <prefix>', 'name prefix of the device access point / BLE advertisement')
    .option('--min-security <level>', 'lowest provisioning security a companion may accept (0, 1, 2)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        templateId: string,
        opts: {
          name?: string;
          datastream?: string[];
          event?: string[];
          hotspotPrefix?: string;
          minSecurity?: string;
          gateway?: string;
          json?: boolean;
        },
      ) => {
        const patch: Record<string, unknown> = {};
        if (opts.name) patch.name = opts.name;
        if (opts.datastream) patch.datastreams = opts.datastream.map(parseDatastreamSpec);
        if (opts.event) patch.events = opts.event.map(parseEventSpec);
        if (opts.hotspotPrefix) patch.hotspotPrefix = opts.hotspotPrefix;
        if (opts.minSecurity !== undefined) patch.minSecurity = Number(opts.minSecurity);
        if (Object.keys(patch).length === 0)
          throw new TetherError('VALIDATION_FAILED', 'Nothing to change: pass an option.');
        const client = await sessionClient(opts.gateway);
        const t = await client.request<{ id: string; name: string }>(
          'PATCH',
          `/api/templates/${encodeURIComponent(templateId)}`,
          patch,
        );
        if (opts.json) printJson(t);
        else say(safe`Updated template ${t.id} (${t.name}).`);
      },
    );
}
