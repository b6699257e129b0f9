/**
 * A QoS 0 PUBLISH as one buffer (MQTT 3.1.1 §3.3), for downlinks the gateway writes to a device's
 * connection itself: one `write` per message, where mqtt-packet's stream writer makes four
 * corked writes and a writev.
 */
import { publishPacketBytes } from './device-limits.js';

/** MQTT 3.1.1 §1.5.3: a topic is a UTF-8 string with a 2-byte length. */
const MAX_TOPIC_BYTES = 65_535;

export function encodePublishQos0(topic: string, payload: string): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  if (topicBytes > MAX_TOPIC_BYTES) throw new RangeError(`topic of ${topicBytes} bytes is too long`);
  const payloadBytes = Buffer.byteLength(payload);
  const total = publishPacketBytes(topic, payloadBytes, 0);
  const packet = Buffer.allocUnsafe(total);
  packet[0] = 0x30; // PUBLISH, no DUP, QoS 0, no RETAIN (§3.3.1)
  // Remaining length (§2.2.3): 7 bits a byte, least significant first, high bit = more follows.
  let remaining = 2 + topicBytes + payloadBytes;
  let at = 1;
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    packet[at++] = byte;
  } while (remaining > 0);
  packet.writeUInt16BE(topicBytes, at);
  at += 2;
  at += packet.write(topic, at, 'utf8');
  packet.write(payload, at, 'utf8');
  return packet;
}
