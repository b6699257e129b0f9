import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { wholeNumber, withOptions } from '../cli/options.js';
import { printJson, printTable } from '../cli/output.js';

interface AuditEvent {
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  orgId: string | null;
  ip: string | null;
  details?: Record<string, unknown>;
}

/** A time option: an ISO date or date-time, or a span back from now such as 30m, 12h or 7d. */
function timeOption(option: string, value: string): number {
  const span = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (span) {
    const unit = span[2] === 'm' ? 60_000 : span[2] === 'h' ? 3_600_000 : 86_400_000;
    return Date.now() - Number(span[1]) * unit;
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `${option} must be a date (2026-11-30 or 2026-11-30T18:00:00Z) or a span back from now (30m, 12h, 7d) (got ${JSON.stringify(value)}).`,
      { details: { option } },
    );
  }
  return at;
}

export function auditCommand(program: Command): void {
  program
    .command('audit')
    .description(
      'The audit log of your organization and below it: account, ownership and configuration history, newest first.',
    )
    .option('-o, --org <org>', 'only this organization and below (id or name)')
    .option('--action <action>', 'only this action (user.deleted), or a family of them (user.)')
    .option('--actor <user>', 'only what this person did: id, email or name')
    .option('--target <id>', 'only events about this record (a user, device, org… id)')
    .option('--since <time>', 'from this time: 2026-11-30, 2026-11-30T18:00:00Z, or 30m / 12h / 7d ago')
    .option('--until <time>', 'up to this time (same forms)')
    .option('--limit <n>', 'at most N events (1–1000)', '100')
    .option(
      '--devices',
      'the device-activity log instead: commands people sent devices (writes, reboots, pings)',
    )
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        org?: string;
        action?: string;
        actor?: string;
        target?: string;
        since?: string;
        until?: string;
        limit: string;
        devices?: boolean;
        gateway?: string;
        json?: boolean;
      }) => {
        const limit = wholeNumber('--limit', opts.limit, 1, 1000);
        const since = opts.since === undefined ? undefined : timeOption('--since', opts.since);
        const until = opts.until === undefined ? undefined : timeOption('--until', opts.until);
        const client = await sessionClient(opts.gateway);
        const directory = new Directory(client);
        const query = new URLSearchParams({ limit: String(limit) });
        if (opts.org) query.set('orgId', await directory.orgId(opts.org, '--org'));
        if (opts.actor) query.set('actor', await directory.userId(opts.actor, '--actor'));
        if (opts.action) query.set('action', opts.action);
        if (opts.target) query.set('targetId', opts.target);
        if (since !== undefined) query.set('since', String(since));
        if (until !== undefined) query.set('until', String(until));
        if (opts.devices) query.set('log', 'devices');
        const fields = {
          orgId: '--org',
          actor: '--actor',
          action: '--action',
          targetId: '--target',
          since: '--since',
          until: '--until',
          limit: '--limit',
        };
        const { events } = await withOptions(fields, () =>
          client.request<{ events: AuditEvent[] }>('GET', `/api/audit?${query}`),
        );
        if (opts.json) return printJson(events);
        const rows = [];
        for (const e of events) {
          rows.push({
            at: new Date(e.at).toISOString(),
            action: e.action,
            actor: e.actor.startsWith('usr_') ? await directory.personLabel(e.actor) : e.actor,
            target:
              e.targetType === 'user'
                ? await directory.personLabel(e.targetId)
                : `${e.targetType} ${e.targetId}`,
            org: await directory.orgLabel(e.orgId),
            from: e.ip,
          });
        }
        printTable(rows);
      },
    );
}
