/**
 * Scenario 4's companions' push streams, in a process that runs no SRP. A phone waiting for its
 * device's activation reads the gateway's SSE event on an idle event loop; the loaders, which run
 * 32 companions' and 32 devices' SRP 3072 handshakes each, would read it only after the handshakes
 * queued ahead of it. So the loaders ask this process to follow a session (`GET /watch/<deviceId>`
 * over loopback HTTP, sent when the session is created, as the companion opens its stream): it
 * opens the session's SSE stream on the gateway, takes the time when the stream yields the
 * outcome, and answers the loader with the outcome and that time.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isTetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { now, serveIpc } from '../lib/proc.js';

let client: GatewayClient | undefined;

const ELD_RESOLUTION_MS = 5;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });

const reply = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const match = /^\/watch\/([\w-]{1,64})$/.exec(req.url ?? '');
  const companion = client;
  if (req.method !== 'GET' || !match || !companion) return reply(res, 404, { code: 'NOT_FOUND' });
  const deviceId = match[1]!;
  // The loader gave up (its flow failed or timed out): the stream closes with its request.
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  companion.waitForActivation(deviceId, { signal: controller.signal }).then(
    (outcome) => reply(res, 200, { outcome, at: now() }),
    (error: unknown) => {
      if (controller.signal.aborted) return;
      const code = isTetherError(error) ? error.code : 'GATEWAY_UNREACHABLE';
      reply(res, 502, { code, message: (error as Error).message });
    },
  );
});
server.keepAliveTimeout = 60_000;

serveIpc({
  /** Before the clock starts: a login costs a production scrypt on the gateway. */
  login: async (args) => {
    client = new GatewayClient({ baseUrl: String(args.baseUrl) });
    await client.login(String(args.email), String(args.password));
    return true;
  },
  url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  resetEld: () => {
    eld.reset();
    return true;
  },
  /** This process's event-loop delay since resetEld: what it added to the push it timed. */
  loopDelayP99: () => Math.max(0, eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS),
});
server.listen(0, '127.0.0.1', () => {
  eld.enable();
  process.send?.({ ready: true });
});
