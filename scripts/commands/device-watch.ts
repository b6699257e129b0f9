import type { Command } from 'commander';
import { TetherError } from '../../shared/errors.js';
import { readServerSentEvents } from '../../shared/sse.js';
import { readSession, sessionClient } from '../cli/cli-context.js';
import { printJson, safe, say } from '../cli/output.js';

/**
 * Follows the push stream: one line per live value or state change (or one JSON object per line
 * with --json), until interrupted or the gateway ends the stream.
 */
export function deviceWatchCommand(device: Command): void {
  device
    .command('watch [deviceId]')
    .description('Follow live values and state changes of your devices (or of one device).')
    .option('-g, --gateway <url>', 'gateway URL')
    .option('--json', 'print one JSON object per event')
    .action(async (deviceId: string | undefined, opts: { gateway?: string; json?: boolean }) => {
      const client = await sessionClient(opts.gateway);
      // A cheap request first: it refreshes an expired access token and saves the new one.
      await client.request('GET', '/api/templates');
      const accessToken = (await readSession())?.accessToken;
      if (!accessToken) throw new TetherError('AUTH_REQUIRED', 'Run `tether login` first.');
      const path = `/api/stream${deviceId ? `?deviceId=${encodeURIComponent(deviceId)}` : ''}`;
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      for await (const { event, data } of sse(`${client.baseUrl}${path}`, accessToken, controller.signal)) {
        if (opts.json) {
          printJson({ event, ...data }, 0);
          continue;
        }
        const at = new Date().toISOString().slice(11, 19);
        const id = (data.deviceId ?? (data.device as { id?: string } | undefined)?.id ?? '') as string;
        if (event === 'snapshot') {
          say(safe`${at} watching ${(data.devices as unknown[]).length} device(s)`);
        } else if (event === 'value') {
          say(safe`${at} ${id} ${String(data.name)} = ${JSON.stringify(data.value)}`);
        } else if (event === 'event') {
          say(safe`${at} ${id} event ${String(data.code)} ${String(data.description ?? '')}`);
        } else if (event === 'end') {
          throw new TetherError('AUTH_REQUIRED', 'The gateway ended the stream: log in again.');
        } else {
          say(safe`${at} ${id} ${event}`);
        }
      }
    });
}

/** Server-sent events as `{ event, data }`; ends when the server closes or the signal aborts. */
async function* sse(
  url: string,
  accessToken: string,
  signal: AbortSignal,
): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` }, signal });
  } catch (error) {
    throw new TetherError('GATEWAY_UNREACHABLE', `Cannot reach the gateway at ${url}.`, { cause: error });
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    throw new TetherError(
      res.status === 404 ? 'DEVICE_NOT_FOUND' : 'INTERNAL',
      body.error?.message ?? `HTTP ${res.status}`,
    );
  }
  try {
    yield* readServerSentEvents(res.body);
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
