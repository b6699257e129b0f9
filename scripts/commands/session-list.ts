import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, printTable } from '../cli/output.js';

export function sessionListCommand(session: Command): void {
  session
    .command('list')
    .description('Your sessions: one per login (each device, each browser), with where and when it began.')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const { sessions } = await client.request<{
        sessions: Array<{
          id: string;
          startedAt: number;
          refreshedAt: number;
          ip: string | null;
          current: boolean;
        }>;
      }>('GET', '/api/sessions');
      if (opts.json) return printJson(sessions);
      printTable(
        sessions.map((s) => ({
          id: s.id,
          started: new Date(s.startedAt).toISOString(),
          'last refreshed': new Date(s.refreshedAt).toISOString(),
          from: s.ip,
          this: s.current ? 'yes' : '',
        })),
      );
    });
}
