import type { Command } from 'commander';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function sessionEndCommand(session: Command): void {
  session
    .command('end')
    .description(
      'End one of your sessions now (a lost laptop, a browser left signed in): its tokens stop working at once.',
    )
    .argument('<sessionId>', 'the session (tether session list)')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      await client.request('DELETE', `/api/sessions/${encodeURIComponent(id)}`);
      if (opts.json) return printJson({ id, ended: true });
      say(safe`Ended session ${id}.`);
    });
}
