/**
 * The receiving end for bare brokers in scenario 1: one subscriber on every device's uplink topic,
 * standing in for the backend that would store latest values. Counts messages and the time of the
 * last one; acknowledges QoS 1 deliveries.
 */
import { connectRaw, type RawConnection } from '../lib/mqtt-conn.js';
import { DISCONNECT, PacketType, pubackPacket, readPublish, subscribePacket } from '../lib/mqtt-wire.js';
import { now, serveIpc } from '../lib/proc.js';

let conn: RawConnection | undefined;
let count = 0;
let lastAt = 0;

serveIpc({
  connect: async (args) => {
    conn = await connectRaw(Number(args.port), { clientId: `bench-sub-${process.pid}` });
    const qos = Number(args.qos) === 1 ? 1 : 0;
    await new Promise<void>((resolve) => {
      conn!.onPacket = (p) => {
        if (p.type === PacketType.suback) return resolve();
        if (p.type !== PacketType.publish) return;
        count++;
        lastAt = now();
        const { qos: q, id } = readPublish(p);
        if (q === 1) conn!.socket.write(pubackPacket(id));
      };
      conn!.socket.write(subscribePacket(1, String(args.topic), qos));
    });
    return true;
  },
  stats: () => ({ count, lastAt }),
  reset: () => {
    count = 0;
    lastAt = 0;
    return true;
  },
  close: () => {
    conn?.socket.end(DISCONNECT);
    return true;
  },
});
process.send?.({ ready: true });
