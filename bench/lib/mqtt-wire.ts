/**
 * A minimal MQTT 3.1.1 codec for load generators: CONNECT, PUBLISH, PUBACK, SUBSCRIBE, DISCONNECT
 * out; CONNACK, PUBLISH, PUBACK, SUBACK in. mqtt.js costs ~10x more CPU per message than writing
 * pre-encoded bytes, and on a 2-core machine every cycle a loader spends is one the broker under
 * test does not get; so the loaders speak the wire format themselves (MQTT 3.1.1, OASIS §2–3).
 */

/** §2.2.3: remaining length as a base-128 varint. */
function encodeLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

const str = (s: string | Buffer): Buffer => {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
};

const packet = (first: number, parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first]), encodeLength(body.length), body]);
};

export function connectPacket(o: {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSeconds?: number;
}): Buffer {
  // §3.1.2.3 flags: username 0x80, password 0x40, clean session 0x02 (devices use clean sessions).
  const flags = (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0) | 0x02;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepaliveSeconds ?? 600);
  return packet(0x10, [
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []),
    ...(o.password !== undefined ? [str(o.password)] : []),
  ]);
}

export function publishPacket(topic: string, payload: string | Buffer, qos: 0 | 1, id = 0): Buffer {
  const parts = [str(topic)];
  if (qos > 0) {
    const pid = Buffer.alloc(2);
    pid.writeUInt16BE(id);
    parts.push(pid);
  }
  parts.push(typeof payload === 'string' ? Buffer.from(payload) : payload);
  return packet(0x30 | (qos << 1), parts);
}

/** Write a packet id into a pre-encoded QoS 1 PUBLISH (it sits right after the topic). */
export function setPacketId(publish: Buffer, topicLength: number, id: number): void {
  let offset = 1;
  while ((publish[offset] ?? 0) & 0x80) offset++;
  publish.writeUInt16BE(id, offset + 1 + 2 + topicLength);
}

export const pubackPacket = (id: number): Buffer => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);

export function subscribePacket(id: number, topic: string, qos: 0 | 1): Buffer {
  const pid = Buffer.alloc(2);
  pid.writeUInt16BE(id);
  return packet(0x82, [pid, str(topic), Buffer.from([qos])]);
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export interface InPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** Splits a byte stream into packets; keeps the tail of a packet cut between chunks. */
export class PacketReader {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onPacket: (p: InPacket) => void): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    const buf = this.#buffer;
    for (;;) {
      if (buf.length - offset < 2) break;
      let length = 0;
      let multiplier = 1;
      let i = offset + 1;
      let complete = false;
      for (; i < buf.length && i < offset + 5; i++) {
        const byte = buf[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || buf.length < i + length) break;
      const first = buf[offset]!;
      onPacket({ type: first >> 4, flags: first & 0x0f, body: buf.subarray(i, i + length) });
      offset = i + length;
    }
    this.#buffer = offset === 0 ? buf : buf.subarray(offset);
  }
}

export const PacketType = {
  connack: 2,
  publish: 3,
  puback: 4,
  suback: 9,
  pingresp: 13,
} as const;

/** Topic and payload of an incoming PUBLISH body. */
export function readPublish(p: InPacket): { topic: string; payload: Buffer; qos: number; id: number } {
  const topicLength = p.body.readUInt16BE(0);
  const topic = p.body.toString('utf8', 2, 2 + topicLength);
  const qos = (p.flags >> 1) & 0x03;
  let offset = 2 + topicLength;
  let id = 0;
  if (qos > 0) {
    id = p.body.readUInt16BE(offset);
    offset += 2;
  }
  return { topic, payload: p.body.subarray(offset), qos, id };
}
