/**
 * One device's connection as the broker keeps it: the ordered uplink chain, the limits' counters,
 * and every way the gateway writes to the device (routed downlinks, direct ones, diags, a close
 * that lets the last words leave first).
 */
import type { Client, PublishPacket } from 'aedes';
import type { Clock } from '../../shared/clock.js';
import { diagPayload } from '../../shared/device-diag.js';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { hasOwnKey } from '../../shared/own-keys.js';
import {
  DOWNLINK_FILTER,
  downlink,
  internalTopic,
  parseUplink,
  topicMatches,
  type Uplink,
} from '../../shared/topics.js';
import type { DownlinkConfirmation } from '../devices/device-connections.js';
import type { DeviceLink } from '../devices/uplink-handler.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { DecayingCount, publishPacketBytes } from './device-limits.js';
import type { DownlinkOutbox } from './downlink-outbox.js';
import { encodePublishQos0 } from './publish-packet.js';

/** Diags a session sends per second at most; a device that provokes more hears fewer. */
const DIAGS_PER_SECOND = 20;
/** How long a closing connection waits for the peer after its last words (FIN sent). */
const CLOSE_LINGER_MS = 1_000;

/**
 * Downlinks Blynk delivers whether or not the device subscribed (device MQTT API,
 * "Authentication": redirect and diag), at QoS 0.
 */
const UNSUBSCRIBED = new Set<string>([downlink.diag, downlink.redirect]);

/** What every session of a broker shares: one object, made once, not one per connection. */
export interface SessionContext {
  /** Held aedes callbacks are released once no more than this many uplinks wait. */
  backlogLow: number;
  /** An uplink's handler failed unexpectedly (a bug, not a refusal). */
  onUplinkFailed(session: DeviceSession, error: unknown): void;
  clock: Clock;
  logger: Logger;
  /** Breaches fade by one per this many milliseconds. */
  breachDecayMs: number;
  /** Called once when the session is closed for abuse (repeated breaches). */
  onAbuse(session: DeviceSession): void;
  metrics?: Pick<BrokerMetrics, 'downlink'> | undefined;
  /** Where QoS 0 downlinks wait for the end of the turn (one for the broker). */
  outbox: DownlinkOutbox;
}

export class DeviceSession implements DeviceLink {
  /**
   * Uplinks are handled one after another per device: a socket chunk arrives all at once. Only
   * uplinks that wait for something join this chain (set while `pending` > 0).
   */
  chain: Promise<void> | undefined;
  /** Uplinks accepted and not yet handled. */
  pending = 0;
  /**
   * aedes callbacks held back while the backlog is high: aedes reads no more until they run.
   * Made on first use, as are the breach count and the QoS 1 resolvers: most connections never
   * need them, and 10,000 connections would carry 10,000 of each.
   */
  held: Array<() => void> | undefined;
  windowStart: number;
  windowCount = 0;
  #breaches: DecayingCount | undefined;
  /** Set when the gateway drops the device: nothing it sends after that counts. */
  closing = false;
  /** A newer connection of the same device, which takes this one over: its end is not "offline". */
  successor: DeviceSession | undefined;
  /** The connection has ended. */
  gone = false;
  /** The receive buffer the device announced in info/mcu (`rxbuff`); no downlink may be larger. */
  rxbuff: number | undefined;
  /** Distinct unsupported topics logged at info level (then at debug: a log is not a channel). */
  unsupportedLogged = 0;
  #diagWindowStart = 0;
  #diagCount = 0;
  /** Resolvers of QoS 1 downlinks awaiting their PUBACK, in send order (MQTT 3.1.1 §4.6). */
  #acks: Array<(at: number) => void> | undefined;
  /** Downlinks handed to aedes' client and not yet written (it writes on its next turn). */
  #inAedes = 0;
  /** The last uplink topic and what it parsed to: a device mostly publishes the same topic again. */
  #lastTopic = '';
  #lastUplink: Uplink | null = null;

  constructor(
    readonly deviceId: string,
    readonly client: Client,
    readonly seq: number,
    private readonly ctx: SessionContext,
  ) {
    this.windowStart = ctx.clock.now();
  }

  /** Holds one aedes callback back until the backlog is down (see `held`). */
  hold(release: () => void): void {
    this.held ??= [];
    this.held.push(release);
  }

  /**
   * `handling` (an uplink that waits for something) joins the device's chain: the next uplinks
   * wait for it, and it ends its turn whether it succeeds or fails.
   */
  enqueue(handling: () => Promise<void> | undefined): void {
    const previous = this.pending++ === 0 ? undefined : this.chain;
    const handled = previous ? previous.then(handling) : handling();
    this.chain = (handled ?? Promise.resolve()).then(
      () => this.#uplinkDone(),
      (error: unknown) => {
        try {
          this.ctx.onUplinkFailed(this, error);
        } finally {
          this.#uplinkDone();
        }
      },
    );
  }

  /** Ends an uplink's turn in the chain. */
  #uplinkDone(): void {
    if (--this.pending <= this.ctx.backlogLow && this.held && this.held.length > 0) {
      for (const release of this.held.splice(0)) release();
    }
  }

  /** The uplink a topic names (null outside the device API), parsed once per distinct topic in a row. */
  parseUplink(topic: string): Uplink | null {
    if (topic !== this.#lastTopic) {
      this.#lastUplink = parseUplink(topic);
      this.#lastTopic = topic;
    }
    return this.#lastUplink;
  }

  /**
   * A downlink, as the device sees its topic. Datastream and metadata downlinks reach the device
   * only through a subscription of its own that matches them, as Blynk delivers them; diag and
   * redirect go whether or not it subscribed. QoS 0 is written to the connection as one packet at
   * the end of this turn (no routing through aedes: the session knows its device and its
   * subscriptions; see downlink-outbox.ts); QoS 1 goes through aedes' client, so it stays QoS 1
   * whatever the subscription asked and its PUBACK can be matched. Throws PAYLOAD_TOO_LARGE over
   * the device's rxbuff.
   */
  send(deviceTopic: string, payload: string, qos: 0 | 1 = 0): void {
    this.assertFits(deviceTopic, payload, qos);
    this.#write(deviceTopic, payload, qos);
  }

  /** QoS 1, and wait for the device's PUBACK (at most timeoutMs). */
  async confirm(deviceTopic: string, payload: string, timeoutMs: number): Promise<DownlinkConfirmation> {
    this.assertFits(deviceTopic, payload, 1);
    const sentAt = this.ctx.clock.now();
    let onAck: (at: number) => void = () => {};
    const acked = new Promise<number | undefined>((resolve) => {
      const timer = this.ctx.clock.setTimeout(() => resolve(undefined), timeoutMs);
      onAck = (at) => {
        this.ctx.clock.clearTimeout(timer);
        resolve(at);
      };
    });
    await new Promise<void>((written) => this.#write(deviceTopic, payload, 1, { onAck, written }));
    const at = await acked;
    return at === undefined
      ? { online: true, acked: false }
      : { online: true, acked: true, rttMs: at - sentAt };
  }

  /** aedes saw a PUBACK from this client: it answers the oldest QoS 1 downlink in flight. */
  acknowledged(): void {
    this.#acks?.shift()?.(this.ctx.clock.now());
  }

  /** Tell the device what went wrong, on downlink/diag, within the per-second diag budget. */
  diag(code: string, message: string): void {
    const now = this.ctx.clock.now();
    if (now - this.#diagWindowStart >= 1000) {
      this.#diagWindowStart = now;
      this.#diagCount = 0;
    }
    if (++this.#diagCount > DIAGS_PER_SECOND) return;
    this.#write(downlink.diag, diagPayload(code, message), 0);
  }

  setReceiveBuffer(bytes: number | undefined): void {
    this.rxbuff = bytes;
  }

  assertFits(deviceTopic: string, payload: string, qos: 0 | 1): void {
    if (this.rxbuff === undefined) return;
    const size = publishPacketBytes(deviceTopic, Buffer.byteLength(payload), qos);
    if (size > this.rxbuff) {
      throw new TetherError(
        'PAYLOAD_TOO_LARGE',
        `The message for ${deviceTopic.slice(0, 80)} is ${size} bytes, more than the device's receive buffer of ${this.rxbuff} bytes (rxbuff in its info/mcu).`,
        { details: { size, rxbuff: this.rxbuff } },
      );
    }
  }

  /**
   * A breach of the limits, answered on diag; the connection is closed (and the diag flushed
   * first) once breaches pile up faster than they fade. True when it closes.
   */
  breach(code: string, message: string, closeAfter: number): boolean {
    this.#breaches ??= new DecayingCount(this.ctx.breachDecayMs);
    if (this.#breaches.add(this.ctx.clock.now()) < closeAfter) {
      this.diag(code, message);
      return false;
    }
    this.ctx.onAbuse(this);
    this.close(`${code}: ${message} (repeatedly)`, {
      code,
      message: `${message}; closing the connection after repeated breaches.`,
    });
    return true;
  }

  /**
   * Close the connection; with `last`, that diag is written first, the write side is ended (FIN
   * after the queued bytes) and the socket is destroyed only when the device has closed its side
   * or after a short linger: a close in the same tick as the diag would drop it.
   */
  close(reason: string, last?: { code: string; message: string }): void {
    if (this.closing) return;
    this.closing = true;
    this.ctx.logger.info({ deviceId: this.deviceId, reason }, 'closing device connection');
    if (!last) {
      this.client.close();
      return;
    }
    this.#write(downlink.diag, JSON.stringify(last), 0, {
      evenWhenClosing: true,
      written: () => void this.#endThenClose(),
    });
  }

  /** Write a last message (any topic), end the write side, then close. Resolves once closed. */
  async closeAfter(deviceTopic: string, payload: string, qos: 0 | 1, reason: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.ctx.logger.info({ deviceId: this.deviceId, reason }, 'closing device connection');
    await new Promise<void>((written) =>
      this.#write(deviceTopic, payload, qos, { evenWhenClosing: true, written }),
    );
    await this.#endThenClose();
  }

  #endThenClose(): Promise<void> {
    const conn = this.client.conn as unknown as {
      end?: () => void;
      destroyed?: boolean;
      once(event: 'close', listener: () => void): void;
    };
    return new Promise<void>((resolve) => {
      const done = () => {
        this.ctx.clock.clearTimeout(timer);
        this.client.close();
        resolve();
      };
      const timer = this.ctx.clock.setTimeout(done, CLOSE_LINGER_MS);
      if (conn.destroyed || typeof conn.end !== 'function') return done();
      conn.once('close', done);
      conn.end();
    });
  }

  /**
   * Never throws: a downlink that cannot be written ends nothing but that one message.
   * `written` is called once it is in the connection's buffer (QoS 0: at the end of this turn of
   * the event loop), or at once when it is dropped.
   */
  #write(
    deviceTopic: string,
    payload: string,
    qos: 0 | 1,
    options: { evenWhenClosing?: boolean; onAck?: (at: number) => void; written?: () => void } = {},
  ): void {
    const { written } = options;
    if ((this.closing && !options.evenWhenClosing) || this.gone) return written?.();
    if (typeof payload !== 'string') {
      this.ctx.logger.error(
        { deviceId: this.deviceId, topic: deviceTopic },
        'downlink payload is not text: dropped',
      );
      return written?.();
    }
    this.ctx.metrics?.downlink(deviceTopic);
    if (qos === 0) {
      // Blynk delivers these only on a matching subscription (as aedes' routing would).
      if (!UNSUBSCRIBED.has(deviceTopic) && !this.#subscribed(deviceTopic)) return written?.();
      // Straight to the connection at the end of this turn, unless a downlink handed to aedes is
      // not written yet: this one must not overtake it (aedes writes on its next turn too).
      if (this.#inAedes === 0) {
        this.ctx.outbox.add(this.client, encodePublishQos0(deviceTopic, payload), written);
        return;
      }
    }
    // Every QoS 1 downlink is written by aedes, so each PUBACK answers the oldest one (in order).
    if (qos === 1) {
      this.#acks ??= [];
      this.#acks.push(options.onAck ?? (() => {}));
    }
    this.#inAedes++;
    const packet = {
      cmd: 'publish',
      topic: internalTopic(this.deviceId, deviceTopic),
      payload: Buffer.from(payload),
      qos,
      retain: false,
      dup: false,
    } as PublishPacket;
    // aedes' Client.publish: this one client, whatever its subscriptions (aedes' README). For
    // QoS 1 it numbers the packet and, for a persistent session, keeps it until its PUBACK.
    (this.client as unknown as DirectPublish).publish(packet, () => {
      this.#inAedes--;
      written?.();
    });
  }

  /** The device holds a subscription matching this downlink (aedes keeps its client's filters). */
  #subscribed(deviceTopic: string): boolean {
    const filters = (this.client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions;
    if (!filters) return false;
    // Blynk firmware subscribes to downlink/# (one lookup); any other filter is matched in turn.
    if (hasOwnKey(filters, internalTopic(this.deviceId, DOWNLINK_FILTER))) return true;
    const topic = internalTopic(this.deviceId, deviceTopic);
    for (const filter in filters) if (topicMatches(filter, topic)) return true;
    return false;
  }
}

/** aedes' Client.publish: one client, whatever its subscriptions (documented in aedes' README). */
interface DirectPublish {
  publish(packet: PublishPacket, done: (error?: Error) => void): void;
}
