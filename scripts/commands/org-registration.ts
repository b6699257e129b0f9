import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { Directory } from '../cli/directory.js';
import { oneOf, withOptions } from '../cli/options.js';
import { printJson, safe, say } from '../cli/output.js';

interface Registration {
  enabled: boolean;
  roleId: string;
  type: string;
  ownOrg: boolean;
}

export function orgRegistrationCommand(org: Command): void {
  org
    .command('registration')
    .description(
      'Self-registration with a maker organization: switch it on or off, and choose what a registrant gets (default: a client with the User role, in the Clients org).',
    )
    .argument('<org>', 'the maker organization (id or name)')
    .option('--on', 'take sign-ups')
    .option('--off', 'take no sign-ups')
    .option('-r, --role <roleId>', "a registrant's role")
    .option('-t, --type <type>', "a registrant's type: client or developer")
    .option('--own-org', 'each registrant gets a client organization of their own')
    .option('--shared-org', 'registrants join the Clients organization itself')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string,
        opts: {
          on?: boolean;
          off?: boolean;
          role?: string;
          type?: string;
          ownOrg?: boolean;
          sharedOrg?: boolean;
          gateway?: string;
          json?: boolean;
        },
      ) => {
        if (opts.on && opts.off) throw new TetherError('VALIDATION_FAILED', 'Say --on or --off, not both.');
        if (opts.ownOrg && opts.sharedOrg) {
          throw new TetherError('VALIDATION_FAILED', 'Say --own-org or --shared-org, not both.');
        }
        const type =
          opts.type === undefined ? undefined : oneOf('--type', opts.type, ['client', 'developer'] as const);
        const client = await sessionClient(opts.gateway);
        const orgId = await new Directory(client).orgId(ref, '<org>');
        const change = {
          ...(opts.on ? { enabled: true } : opts.off ? { enabled: false } : {}),
          ...(opts.role ? { roleId: opts.role } : {}),
          ...(type ? { type } : {}),
          ...(opts.ownOrg ? { ownOrg: true } : opts.sharedOrg ? { ownOrg: false } : {}),
        };
        const path = `/api/orgs/${encodeURIComponent(orgId)}`;
        const org =
          Object.keys(change).length === 0
            ? await client.request<{ id: string; name: string; registration?: Registration }>('GET', path)
            : await withOptions(
                {
                  'registration.roleId': '--role',
                  'registration.type': '--type',
                  'registration.ownOrg': '--own-org',
                },
                () =>
                  client.request<{ id: string; name: string; registration?: Registration }>('PATCH', path, {
                    registration: change,
                  }),
              );
        if (opts.json) return printJson(org.registration ?? { enabled: false });
        const r = org.registration;
        if (!r?.enabled) return say(safe`${org.name} takes no sign-ups. Switch them on with --on.`);
        say(
          safe`${org.name} takes sign-ups (tether user register --org ${org.id}): a registrant becomes a ${r.type} with the ${r.roleId} role, ${r.ownOrg ? 'in a client organization of their own' : 'in the Clients organization'}.`,
        );
      },
    );
}
