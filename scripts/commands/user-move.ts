import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { oneOf, withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

export function userMoveCommand(user: Command): void {
  user
    .command('move')
    .description(
      'Move a user to another organization in your subtree, with a role there; say what happens to their devices.',
    )
    .argument('<user>', 'user id, email or name')
    .requiredOption('-o, --org <org>', 'destination organization (id or name)')
    .option('-r, --role <roleId>', 'their role there', 'user')
    .option(
      '--devices <what>',
      'the devices they own: move (with them, still theirs) or leave (where they are, without an owner)',
    )
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string,
        opts: { org: string; role: string; devices?: string; gateway?: string; json?: boolean },
      ) => {
        const devices =
          opts.devices === undefined ? undefined : oneOf('--devices', opts.devices, ['move', 'leave']);
        const client = await sessionClient(opts.gateway);
        const directory = new Directory(client);
        const userId = await directory.userId(ref, '<user>');
        const orgId = await directory.orgId(opts.org, '--org');
        const fields = {
          'devices=move': '--devices move',
          'devices=leave': '--devices leave',
          roleId: '--role',
          orgId: '--org',
        };
        const moved = await withOptions(fields, () =>
          client.request<{
            email: string;
            orgId: string;
            roleId: string;
            devices: { moved: number; unowned: number };
          }>('POST', `/api/users/${encodeURIComponent(userId)}/move`, {
            orgId,
            roleId: opts.role,
            ...(devices ? { devices } : {}),
          }),
        );
        if (opts.json) return printJson(moved);
        const what =
          moved.devices.moved > 0
            ? safe`; ${moved.devices.moved} device(s) moved with them`
            : moved.devices.unowned > 0
              ? safe`; ${moved.devices.unowned} device(s) stayed behind without an owner`
              : '';
        say(
          safe`Moved ${moved.email} to ${await directory.orgLabel(moved.orgId)} as ${moved.roleId}` +
            `${what}.`,
        );
      },
    );
}
