/**
 * A hard cap on the size of any MQTT packet a connection may send. The per-message limit in
 * authorizePublish answers on downlink/diag, but it runs after aedes has buffered the whole
 * packet; MQTT allows 256 MB, so without a cap one client could make the gateway hold that much.
 * aedes 1.x has no option for this, so the guard wraps its client's mqtt-packet parser: as soon
 * as a fixed header announces a remaining length above the cap, the connection is destroyed,
 * before the body is read.
 */
import type { Client } from 'aedes';

interface ParserShape {
  _parseLength(): boolean;
  packet: { length: number; cmd?: string };
}

/** False when the parser is not where aedes 1.x keeps it (an upgrade moved it): nothing is capped. */
export function capPacketSize(
  client: Client,
  maxBytes: number,
  onTooLarge: (length: number) => void,
): boolean {
  const parser = (client as unknown as { _parser?: Partial<ParserShape> })._parser;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser.packet !== 'object') return false;
  const parseLength = parser._parseLength.bind(parser);
  parser._parseLength = () => {
    const complete = parseLength();
    const length = (parser as ParserShape).packet.length;
    if (complete && length > maxBytes) {
      onTooLarge(length);
      return false; // stop parsing: the stream is being destroyed
    }
    return complete;
  };
  return true;
}
