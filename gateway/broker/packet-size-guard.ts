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
  /** aedes 1.x keeps its client on the parser. */
  client?: Client;
}

/**
 * The cap for every connection of one broker: `apply(client)` installs it on that client's
 * parser. One function serves every parser (it finds its client on the parser, where aedes puts
 * it), so a connection costs one property, not a closure and a bound function of its own.
 */
export function packetSizeCap(
  maxBytes: number,
  onTooLarge: (client: Client | undefined, length: number) => void,
): { apply(client: Client): boolean } {
  let original: ParserShape['_parseLength'] | undefined;
  function capped(this: ParserShape): boolean {
    const complete = original!.call(this);
    const length = this.packet.length;
    if (complete && length > maxBytes) {
      onTooLarge(this.client, length);
      return false; // stop parsing: the stream is being destroyed
    }
    return complete;
  }
  return {
    /** False when the parser is not where aedes 1.x keeps it (an upgrade moved it): nothing is capped. */
    apply(client: Client): boolean {
      const parser = (client as unknown as { _parser?: Partial<ParserShape> })._parser;
      if (!parser || typeof parser._parseLength !== 'function' || typeof parser.packet !== 'object')
        return false;
      if (parser._parseLength === capped) return true;
      // Every parser shares mqtt-packet's prototype method: the one to call underneath.
      original ??= parser._parseLength;
      if (parser._parseLength !== original) return false;
      parser._parseLength = capped;
      return true;
    },
  };
}
