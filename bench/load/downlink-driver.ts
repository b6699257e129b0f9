/**
 * Scenario 2's app side: writes the `cmd` datastream of N devices through the HTTP API
 * (PUT /api/devices/:id/datastreams/cmd), `concurrency` requests at a time, as a person's app
 * would; each value is the call's start time so the device can time the whole path.
 */
import { pool } from '../lib/mqtt-conn.js';
import { now, serveIpc } from '../lib/proc.js';

serveIpc({
  // Apart from `run`, so that the password hash of the login (scrypt, ≈ 0.5 s of CPU) is not
  // counted as the commands' cost.
  login: async (args) => {
    const login = await fetch(`${String(args.baseUrl)}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: args.email, password: args.password }),
    });
    return ((await login.json()) as { accessToken: string }).accessToken;
  },
  run: async (args) => {
    const baseUrl = String(args.baseUrl);
    const accessToken = String(args.accessToken);
    const ids = args.deviceIds as string[];
    const commands = Number(args.commands);
    const order = Array.from({ length: commands }, (_, i) => ids[i % ids.length]!);
    const httpLatencies: number[] = [];
    let errors = 0;
    let offline = 0;
    let firstError = '';
    const startedAt = now();
    await pool(order, Number(args.concurrency), async (id) => {
      const t0 = now();
      const res = await fetch(`${baseUrl}/api/devices/${id}/datastreams/cmd`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ value: t0.toFixed(3) }),
      });
      const body = (await res.json()) as { online?: boolean };
      httpLatencies.push(now() - t0);
      if (!res.ok) {
        errors++;
        firstError ||= `${res.status} ${JSON.stringify(body).slice(0, 200)}`;
      } else if (!body.online) offline++;
    });
    return { httpLatencies, errors, offline, firstError, startedAt, endedAt: now() };
  },
});
process.send?.({ ready: true });
