import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

const DATASTREAM_TYPES = new Set(['int', 'double', 'string', 'enum', 'location']);

/**
 * `--datastream temp:double:-40:125`, `--datastream "Set Temperature:double:10:30:sync"`,
 * `--datastream mode:enum:off|heat|cool`, `--datastream label:string`. A leading Blynk virtual pin
 * gives the datastream that pin (`--datastream V1:temp:double:-40:125`); a trailing `:sync` turns on
 * Blynk's "Sync with latest server value" (get/ds/all sends it).
 */
export function parseDatastreamSpec(spec: string): Record<string, unknown> {
  const pinned = /^([Vv]\d{1,3}):(.+)$/.exec(spec);
  if (pinned && !DATASTREAM_TYPES.has(pinned[2]!.split(':')[0]!)) {
    return { ...parseDatastreamSpec(pinned[2]!), pin: pinned[1]!.toUpperCase() };
  }
  const parts = spec.split(':');
  const sync = parts.length > 2 && parts.at(-1) === 'sync';
  if (sync) parts.pop();
  const [name, type, a, b] = parts;
  if (!name || !type)
    throw new TetherError(
      'VALIDATION_FAILED',
      `Datastream "${spec}": write [pin:]name:type[:min:max][:sync].`,
    );
  const out: Record<string, unknown> =
    type === 'enum' ? { name, type, values: (a ?? '').split('|').filter(Boolean) } : { name, type };
  if (type !== 'enum' && a !== undefined && a !== '') out.min = Number(a);
  if (type !== 'enum' && b !== undefined && b !== '') out.max = Number(b);
  if (sync) out.sync = true;
  return out;
}

/**
 * `--event "temp_is_high:Temperature is high:warning:notify"`: code, name, then optionally a level
 * (info, warning, critical) and `notify` (mail the device's owner).
 */
export function parseEventSpec(spec: string): Record<string, unknown> {
  const [code, name, ...rest] = spec.split(':');
  if (!code || !name)
    throw new TetherError(
      'VALIDATION_FAILED',
      `Event "${spec}": write code:name[:info|warning|critical][:notify].`,
    );
  const out: Record<string, unknown> = { code, name };
  for (const part of rest) {
    if (part === 'notify') out.notify = true;
    else if (part === 'info' || part === 'warning' || part === 'critical') out.level = part;
    else
      throw new TetherError('VALIDATION_FAILED', `Event "${spec}": ${part} is neither a level nor notify.`);
  }
  return out;
}

export function templateCreateCommand(template: Command): void {
  template
    .command('create')
    .description('Create a template (product) that devices are made from.')
    .requiredOption('-n, --name <name>', 'template name')
    .option(
      '-d, --datastream <spec...>',
      'datastreams, [pin:]name:type[:min:max][:sync] (types int, double, string, enum, location; pin V0-V255; quote names with spaces; :sync = get/ds/all sends it)',
    )
    .option(
      '-e, --event <spec...>',
      'events its devices may publish, code:name[:level][:notify] (notify mails the owner)',
    )
    .option('--hotspot-prefix <prefix>', 'name prefix of the device access point / BLE advertisement')
    .option('--min-security <level>', 'lowest provisioning security a companion may accept (0, 1, 2)', '2')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        name: string;
        datastream?: string[];
        event?: string[];
        hotspotPrefix?: string;
        minSecurity: string;
        gateway?: string;
        json?: boolean;
      }) => {
        const client = await sessionClient(opts.gateway);
        const template = await client.request<{ id: string; name: string }>('POST', '/api/templates', {
          name: opts.name,
          datastreams: (opts.datastream ?? []).map(parseDatastreamSpec),
          ...(opts.event ? { events: opts.event.map(parseEventSpec) } : {}),
          ...(opts.hotspotPrefix ? { hotspotPrefix: opts.hotspotPrefix } : {}),
          minSecurity: Number(opts.minSecurity),
        });
        if (opts.json) printJson(template);
        else say(safe`Created template ${template.id} (${template.name}).`);
      },
    );
}
