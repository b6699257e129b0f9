/**
 * Scenario 3's load: open this process's share of device connections, `inFlight` at a time, each
 * timed from the TCP connect to CONNACK; hold them open until told to close. `localAddress` picks
 * the loopback source address (127.0.0.x), so that loaders together can open more connections
 * than one address has ephemeral ports.
 */
import { type Credentials, connectRaw, pool, type RawConnection } from '../lib/mqtt-conn.js';
import { DISCONNECT } from '../lib/mqtt-wire.js';
import { now, serveIpc } from '../lib/proc.js';

let open: RawConnection[] = [];

serveIpc({
  storm: async (args) => {
    const creds = args.clients as Credentials[];
    const latencies: number[] = [];
    const failures: string[] = [];
    const startedAt = now();
    await pool(creds, Number(args.inFlight ?? 100), async (c) => {
      const t0 = now();
      try {
        open.push(
          await connectRaw(
            Number(args.port),
            c,
            60_000,
            typeof args.localAddress === 'string' ? args.localAddress : undefined,
          ),
        );
        latencies.push(now() - t0);
      } catch (error) {
        failures.push((error as Error).message);
      }
    });
    return { latencies, failures: failures.slice(0, 5), failed: failures.length, startedAt, endedAt: now() };
  },
  close: async () => {
    for (const c of open) c.socket.end(DISCONNECT);
    open = [];
    return true;
  },
});
process.send?.({ ready: true });
