import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { oneOf, withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function shareAddCommand(share: Command): void {
  share
    .command('add')
    .description(
      'Share one of your devices with someone by email, to view or to control (never to take it over).',
    )
    .argument('<deviceId>', 'the device')
    .requiredOption('-e, --email <email>', 'their email address')
    .option('-l, --level <level>', 'view or control', 'view')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (deviceId: string, opts: { email: string; level: string; gateway?: string; json?: boolean }) => {
        const level = oneOf('--level', opts.level, ['view', 'control'] as const);
        const client = await sessionClient(opts.gateway);
        const grant = await withOptions({ email: '--email', level: '--level' }, () =>
          client.request<{ id: string; email: string; level: string }>(
            'POST',
            `/api/devices/${encodeURIComponent(deviceId)}/shares`,
            { email: opts.email, level },
          ),
        );
        if (opts.json) return printJson(grant);
        // The same words whether or not the address has an account: sharing never tells.
        say(safe`Shared ${deviceId} with ${grant.email} (${grant.level}; share ${grant.id}).`);
      },
    );
}
