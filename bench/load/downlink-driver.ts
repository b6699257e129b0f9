/**
 * Scenario 2's app side: writes the `cmd` datastream of N devices through the HTTP API
 * (PUT /api/devices/:id/datastreams/cmd), as a person's app would; each value is the call's
 * start time so the device can time the whole path. Either `concurrency` requests at a time
 * (the peak rate), or open loop at `rate` commands per second (latency at a given load).
 * node:http with keep-alive rather than fetch: on 2 shared cores the driver's CPU is the
 * gateway's loss.
 */
import { Agent, request } from 'node:http';
import { pool } from '../lib/mqtt-conn.js';
import { now, serveIpc, sleep } from '../lib/proc.js';

let agent: Agent | undefined;

function call(
  baseUrl: string,
  method: string,
  path: string,
  body: string,
  token?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      {
        method,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

serveIpc({
  // Apart from `run`, so that the password hash of the login (scrypt, ≈ 0.5 s of CPU) is not
  // counted as the commands' cost.
  login: async (args) => {
    agent?.destroy();
    agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const login = await call(
      String(args.baseUrl),
      'POST',
      '/api/auth/login',
      JSON.stringify({ email: args.email, password: args.password }),
    );
    return (JSON.parse(login.text) as { accessToken: string }).accessToken;
  },
  run: async (args) => {
    const baseUrl = String(args.baseUrl);
    const accessToken = String(args.accessToken);
    const ids = args.deviceIds as string[];
    const commands = Number(args.commands);
    const rate = args.rate === undefined ? undefined : Number(args.rate);
    const order = Array.from({ length: commands }, (_, i) => ids[i % ids.length]!);
    const httpLatencies: number[] = [];
    let errors = 0;
    let offline = 0;
    let firstError = '';
    const command = async (id: string) => {
      const t0 = now();
      try {
        const res = await call(
          baseUrl,
          'PUT',
          `/api/devices/${id}/datastreams/cmd`,
          JSON.stringify({ value: t0.toFixed(3) }),
          accessToken,
        );
        httpLatencies.push(now() - t0);
        const body = JSON.parse(res.text) as { online?: boolean };
        if (res.status >= 300) {
          errors++;
          firstError ||= `${res.status} ${res.text.slice(0, 200)}`;
        } else if (!body.online) offline++;
      } catch (error) {
        errors++;
        firstError ||= String(error);
      }
    };
    const startedAt = now();
    if (rate === undefined) {
      await pool(order, Number(args.concurrency), command);
    } else {
      // Open loop: command i leaves at startedAt + i / rate, whatever the answers before it.
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; i < order.length; ) {
        const due = Math.floor(((now() - startedAt) * rate) / 1000) + 1;
        for (; i < Math.min(due, order.length); i++) {
          const p: Promise<void> = command(order[i]!).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        await sleep(2);
      }
      await Promise.all(inFlight);
    }
    return { httpLatencies, errors, offline, firstError, startedAt, endedAt: now() };
  },
});
process.send?.({ ready: true });
