/**
 * A device's UNSUBSCRIBE names its filters as the device sees them (`downlink/ds/+`), but aedes
 * keeps its subscriptions under the names authorizeSubscribe mapped them to (`d/<id>/downlink/ds/+`),
 * and aedes 1.x has no unsubscribe hook: unmapped, an UNSUBSCRIBE matched nothing and a device
 * could never unsubscribe. This maps its filters into the device's namespace before aedes handles
 * the packet, in the parser's one `packet` listener (aedes' own, wrapped: a second listener would
 * make every packet's emit copy the listener array).
 */
import type { Client } from 'aedes';
import { internalTopic, isAllowedDeviceSubscription } from '../../shared/topics.js';

interface ParserShape {
  /** aedes 1.x keeps its client on the parser. */
  client?: Client;
  listeners(event: 'packet'): Array<(packet: unknown) => void>;
  removeListener(event: 'packet', listener: (packet: unknown) => void): unknown;
  on(event: 'packet', listener: (packet: unknown) => void): unknown;
}

/**
 * `deviceOf(client)`: the device a connection authenticated as, or undefined before then (an
 * UNSUBSCRIBE that early is left as it came, and matches nothing). `apply(client)` is false when
 * the parser is not shaped as aedes 1.x shapes it (nothing is mapped).
 */
export function unsubscribeMapping(deviceOf: (client: Client) => string | undefined): {
  apply(client: Client): boolean;
} {
  let original: ((packet: unknown) => void) | undefined;
  function mapped(this: ParserShape, packet: unknown): void {
    const p = packet as { cmd?: string; unsubscriptions?: unknown };
    if (p.cmd === 'unsubscribe' && Array.isArray(p.unsubscriptions) && this.client) {
      const deviceId = deviceOf(this.client);
      // A filter the device may not hold is one it does not hold: acknowledged, nothing removed.
      if (deviceId !== undefined) {
        p.unsubscriptions = p.unsubscriptions
          .filter(
            (filter): filter is string => typeof filter === 'string' && isAllowedDeviceSubscription(filter),
          )
          .map((filter) => internalTopic(deviceId, filter));
      }
    }
    original!.call(this, packet);
  }
  return {
    apply(client: Client): boolean {
      const parser = (client as unknown as { _parser?: Partial<ParserShape> })._parser;
      if (typeof parser?.listeners !== 'function') return false;
      const listeners = parser.listeners('packet');
      if (listeners.length !== 1) return false;
      const listener = listeners[0]!;
      if (listener === mapped) return true;
      // Every parser shares aedes' one module-level listener: the one to call underneath.
      original ??= listener;
      if (listener !== original) return false;
      parser.removeListener!('packet', listener);
      parser.on!('packet', mapped);
      return true;
    },
  };
}
