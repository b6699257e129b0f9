import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function rolePermissionsCommand(role: Command): void {
  role
    .command('permissions')
    .description(
      'The permission catalogue: each permission, the built-in roles and user types that hold it, and the plans that lock it.',
    )
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const catalogue = await client.request<{
        permissions: string[];
        builtInRoles: Array<{ id: string; name: string; permissions: string[] }>;
        userTypes: Array<{ type: string; permissions: string[] }>;
        lockedByPlan: Record<string, string[]>;
      }>('GET', '/api/permissions');
      if (opts.json) return printJson(catalogue);
      printTable(
        catalogue.permissions.map((p) => ({
          permission: p,
          roles: catalogue.builtInRoles
            .filter((r) => r.permissions.includes(p))
            .map((r) => r.name)
            .join(', '),
          types: catalogue.userTypes
            .filter((t) => t.permissions.includes(p))
            .map((t) => t.type)
            .join(', '),
          'locked on': Object.entries(catalogue.lockedByPlan)
            .filter(([, locked]) => locked.includes(p))
            .map(([plan]) => plan)
            .join(', '),
        })),
      );
    });
}
