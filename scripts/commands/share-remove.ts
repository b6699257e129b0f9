import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

export function shareRemoveCommand(share: Command): void {
  share
    .command('remove')
    .description('Revoke a share of a device (by the address it went to, or the share id); it ends at once.')
    .argument('<deviceId>', 'the device')
    .argument(
      '[share]',
      'the email address or share id (tether share list DEVICE); omit to drop a device shared with you',
    )
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print JSON')
    .action(async (deviceId: string, ref: string | undefined, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      const device = encodeURIComponent(deviceId);
      let shareId: string;
      if (!ref) {
        // A grantee drops a device shared with them, by their own user id.
        shareId = (await client.request<{ user: { id: string } }>('GET', '/api/me')).user.id;
      } else if (ref.includes('@')) {
        const wanted = ref.normalize('NFKC').trim().toLowerCase();
        const { shares } = await client.request<{ shares: Array<{ id: string; email: string }> }>(
          'GET',
          `/api/devices/${device}/shares`,
        );
        const found = shares.find((s) => s.email === wanted);
        if (!found) throw new TetherError('NOT_FOUND', safe`${deviceId} is not shared with ${ref}.`);
        shareId = found.id;
      } else {
        shareId = ref;
      }
      await client.request('DELETE', `/api/devices/${device}/shares/${encodeURIComponent(shareId)}`);
      if (opts.json) return printJson({ deviceId, removed: ref ?? 'you' });
      say(ref ? safe`${deviceId} is no longer shared with ${ref}.` : safe`You no longer have ${deviceId}.`);
    });
}
