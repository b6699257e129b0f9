/**
 * Scenario 2's devices: connect with their tokens, subscribe to `downlink/#` (as Blynk firmware
 * does), and time each `downlink/ds/cmd` from the API call (its payload is the call's start time,
 * epoch ms) to its arrival here. Same host, same clock.
 */
import { type Credentials, connectRaw, pool, type RawConnection } from '../lib/mqtt-conn.js';
import { DISCONNECT, PacketType, readPublish, subscribePacket } from '../lib/mqtt-wire.js';
import { now, serveIpc } from '../lib/proc.js';

let open: RawConnection[] = [];
let latencies: number[] = [];
let lastAt = 0;

serveIpc({
  connect: async (args) => {
    await pool(args.clients as Credentials[], 50, async (c) => {
      const conn = await connectRaw(Number(args.port), c);
      await new Promise<void>((resolve) => {
        conn.onPacket = (p) => {
          if (p.type === PacketType.suback) return resolve();
          if (p.type !== PacketType.publish) return;
          const { topic, payload } = readPublish(p);
          if (topic !== 'downlink/ds/cmd') return;
          const at = now();
          latencies.push(at - Number(payload.toString()));
          lastAt = at;
        };
        conn.socket.write(subscribePacket(1, 'downlink/#', 0));
      });
      open.push(conn);
    });
    return open.length;
  },
  stats: () => ({ count: latencies.length, lastAt }),
  take: () => {
    const out = { latencies, lastAt };
    latencies = [];
    return out;
  },
  close: async () => {
    for (const c of open) c.socket.end(DISCONNECT);
    open = [];
    return true;
  },
});
process.send?.({ ready: true });
