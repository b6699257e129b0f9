/**
 * Load generator for scenarios 1 and 6: connects its devices, then each publishes a pre-encoded
 * `ds/temp` (or the topic given) at QoS 0 or 1 — at the broker's peak, or paced to a target rate
 * (S6) — for a bounded number of messages or a bounded time, then stops by itself.
 *
 * Peak needs flow control, or the numbers measure buffering: brokers read a socket greedily, so an
 * open-loop QoS 0 flood piles hundreds of thousands of messages into their memory (and GC) and the
 * "rate" is the rate of a backlog. So QoS 0 is windowed end to end: after every BATCH messages a
 * device sends a marker that comes back only once the broker has handled what came before it —
 * Tether: `get/ds` "temp", answered on `downlink/ds/temp` after the device's earlier uplinks
 * (they are handled in order per device); bare brokers: a publish on the device's own
 * `d/<id>/mark`, which it subscribes to. At most WINDOW batches are out per device.
 * QoS 1 keeps `window` PUBLISHes in flight per device and counts PUBACKs.
 */
import { type Credentials, connectRaw, type RawConnection } from '../lib/mqtt-conn.js';
import {
  DISCONNECT,
  PacketType,
  publishPacket,
  readPublish,
  setPacketId,
  subscribePacket,
} from '../lib/mqtt-wire.js';
import { now, serveIpc } from '../lib/proc.js';

interface Device {
  conn: RawConnection;
  packet: Buffer;
  topicLength: number;
  marker: Buffer;
  markerReply: string;
  onMarker: () => void;
}

const BATCH = 50;
const WINDOW = 4;

let devices: Device[] = [];
let qos: 0 | 1 = 0;

/** QoS 0, peak: batches of BATCH, each closed by a marker; WINDOW batches out at most. */
function floodQos0(d: Device, count: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let out = 0;
    const pump = () => {
      while (out < WINDOW && sent < count) {
        const n = Math.min(BATCH, count - sent);
        for (let i = 0; i < n; i++) d.conn.socket.write(d.packet);
        d.conn.socket.write(d.marker);
        sent += n;
        out++;
      }
      if (sent >= count && out === 0) resolve(sent);
    };
    d.onMarker = () => {
      out--;
      pump();
    };
    d.conn.socket.once('close', () => resolve(sent));
    pump();
  });
}

/** QoS 1, peak: `window` in flight, the next one on each PUBACK. */
function floodQos1(d: Device, count: number, window: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    let id = 0;
    const sendOne = () => {
      id = (id % 65_535) + 1;
      const packet = Buffer.from(d.packet);
      setPacketId(packet, d.topicLength, id);
      d.conn.socket.write(packet);
      sent++;
    };
    const previous = d.conn.onPacket;
    d.conn.onPacket = (p) => {
      if (p.type !== PacketType.puback) return previous(p);
      acked++;
      if (sent < count) sendOne();
      else if (acked === count) resolve(acked);
    };
    d.conn.socket.once('close', () => resolve(acked));
    for (let i = 0; i < Math.min(window, count); i++) sendOne();
  });
}

/** Paced (S6): every 5 ms, send what is due for `rate` messages/s across this process's devices. */
async function paced(rate: number, durationMs: number): Promise<number> {
  const start = now();
  let sent = 0;
  let turn = 0;
  while (now() - start < durationMs) {
    const due = Math.floor(((now() - start) / 1000) * rate) - sent;
    for (let i = 0; i < due; i++) {
      const d = devices[turn++ % devices.length]!;
      if (qos === 1) {
        const packet = Buffer.from(d.packet);
        setPacketId(packet, d.topicLength, (sent % 65_535) + 1);
        d.conn.socket.write(packet);
      } else d.conn.socket.write(d.packet);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return sent;
}

serveIpc({
  connect: async (args) => {
    const port = Number(args.port);
    qos = Number(args.qos) === 1 ? 1 : 0;
    const creds = args.clients as Array<
      Credentials & { topic: string; marker: [string, string]; markerSubscribe: string; markerReply: string }
    >;
    const payload = String(args.payload ?? '21.5');
    devices = await Promise.all(
      creds.map(async (c) => {
        const conn = await connectRaw(port, c);
        const d: Device = {
          conn,
          packet: publishPacket(c.topic, payload, qos, 1),
          topicLength: Buffer.byteLength(c.topic),
          marker: publishPacket(c.marker[0], c.marker[1], 0),
          markerReply: c.markerReply,
          onMarker: () => {},
        };
        await new Promise<void>((resolve) => {
          conn.onPacket = (p) => {
            if (p.type === PacketType.suback) return resolve();
            if (p.type === PacketType.publish && readPublish(p).topic === d.markerReply) d.onMarker();
          };
          conn.socket.write(subscribePacket(1, c.markerSubscribe, 0));
        });
        return d;
      }),
    );
    return devices.length;
  },
  go: async (args) => {
    const startedAt = now();
    let sent: number;
    if (args.rate !== undefined) {
      sent = await paced(Number(args.rate), Number(args.durationMs));
    } else {
      const count = Number(args.messagesPerClient);
      const counts = await Promise.all(
        devices.map((d) =>
          qos === 0 ? floodQos0(d, count) : floodQos1(d, count, Number(args.window ?? 32)),
        ),
      );
      sent = counts.reduce((a, b) => a + b, 0);
    }
    return { sent, startedAt, endedAt: now(), closed: devices.filter((d) => d.conn.socket.destroyed).length };
  },
  close: async () => {
    for (const d of devices) d.conn.socket.end(DISCONNECT);
    devices = [];
    return true;
  },
});
process.send?.({ ready: true });
