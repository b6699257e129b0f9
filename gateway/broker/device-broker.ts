/**
 * The MQTT broker devices connect to: Aedes on TCP, on TLS when a certificate and key are configured,
 * and over WebSocket at `/mqtt` on the HTTP port, with Blynk's device API as policy in its hooks.
 * MQTT 3.1.1 only: aedes 1.x answers an MQTT 5 CONNECT with return code 1 (see test/broker).
 * - authenticate: username `device`, password = token; O(1) lookup of the token's hash.
 * - authorizePublish: only the API's uplink topics, within size and rate limits; each message is
 *   mapped into the device's own namespace (`d/<id>/…`) and handled in order per device.
 * - authorizeSubscribe: only `downlink/…`, mapped to `d/<id>/downlink/…`.
 * - authorizeForward: a device receives only its own namespace, with the prefix removed.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { isTetherError, MqttReturnCode, toTetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { deviceTopicOf, internalTopic, isAllowedDeviceSubscription } from '../../shared/topics.js';
import type { DeviceConnections, DownlinkConfirmation } from '../devices/device-connections.js';
import type { DeviceService } from '../devices/device-service.js';
import type { UplinkHandler } from '../devices/uplink-handler.js';
import { loadTlsMaterial } from '../tls-material.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { publishSize, ReconnectBackoff } from './device-limits.js';
import { DeviceSession, type SessionContext } from './device-session.js';
import { DownlinkOutbox } from './downlink-outbox.js';
import { packetSizeCap } from './packet-size-guard.js';
import { unsubscribeMapping } from './unsubscribe-mapping.js';

const DEVICE_USERNAME = 'device';
const MAX_CLIENT_ID = 64;
/** Uplinks waiting to be handled per device: stop reading its socket at HIGH, resume at LOW. */
export const BACKLOG_HIGH = 256;
const BACKLOG_LOW = 16;

/** Limit breaches answered on downlink/diag before the connection is closed... */
const BREACHES_BEFORE_CLOSE = 3;
/** ...counted so that one fades every this many milliseconds: breaches far apart never close. */
const BREACH_DECAY_MS = 10_000;
/** The gateway's reconnect back-off for a device closed for abuse: 5 s, 10 s, … up to 10 min. */
const ABUSE_BACKOFF = { baseMs: 5_000, maxMs: 10 * 60_000, forgetMs: 30 * 60_000, maxEntries: 100_000 };
/** Blynk serves MQTT over WebSocket at this path (blynk.cloud device MQTT API, "Authentication"). */
export const MQTT_WEBSOCKET_PATH = '/mqtt';

export interface DeviceBrokerDeps {
  config: TetherConfig['mqtt'];
  clock: Clock;
  logger: Logger;
  devices: DeviceService;
  uplinks: UplinkHandler;
  metrics?: BrokerMetrics;
}

export class DeviceBroker implements DeviceConnections {
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #tlsServer: TlsServer | undefined;
  #wss: WebSocketServer | undefined;
  #httpServer: HttpServer | undefined;
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.#upgrade(request, socket, head);
  /** Every open connection and its aedes client, until its stream closes. */
  readonly #connections = new Map<Socket | Duplex, Client>();
  /**
   * The one close listener every connection shares (`this` is the stream): no closure, no
   * `once` wrapper per connection. Every connection, authenticated or not, ends here exactly once.
   */
  readonly #onStreamClose = ((broker: DeviceBroker) =>
    function (this: Socket | Duplex) {
      const client = broker.#connections.get(this);
      broker.#connections.delete(this);
      if (client) broker.#onGone(client);
    })(this);
  /** UNSUBSCRIBE's filters mapped into the device's namespace (see unsubscribe-mapping.ts). */
  readonly #unsubscribes = unsubscribeMapping((client) => this.#sessions.get(client)?.deviceId);
  /** The hard packet-size cap, one for every connection (see packet-size-guard.ts); set by start(). */
  #packetCap: ReturnType<typeof packetSizeCap> | undefined;
  /**
   * Session per client, set in authenticate: aedes sends CONNACK and handles the client's next
   * packets before it emits clientReady, so a fast client (mosquitto_pub) publishes before then.
   */
  readonly #sessions = new WeakMap<Client, DeviceSession>();
  /** The one live session per device. */
  readonly #byDevice = new Map<string, DeviceSession>();
  /**
   * Sessions numbered as they authenticate. disconnect() voids every session of the device up to
   * the current number, so a connection that authenticated with the old token but is not ready
   * yet (CONNACK in flight) cannot slip in after a re-provision or a delete.
   */
  #sessionSeq = 0;
  /** What every session shares (callbacks, clock, logger), made with the first session. */
  #sessionContext: SessionContext | undefined;
  #warnedNoCap = false;
  readonly #outbox = new DownlinkOutbox((client, unreadBytes) => this.#onStalled(client, unreadBytes));
  #warnedNoUnsubscribe = false;
  readonly #voidUpTo = new Map<string, number>();
  /** Devices closed for abuse, refused at CONNECT for a growing window (node-local for now). */
  readonly #backoff = new ReconnectBackoff(ABUSE_BACKOFF);

  constructor(private readonly deps: DeviceBrokerDeps) {}

  /** A device that takes none of its downlinks: closed, so they do not pile up here. */
  #onStalled(client: Client, unreadBytes: number): void {
    const session = this.#sessions.get(client);
    if (session?.closing) return;
    this.deps.logger.warn(
      { deviceId: session?.deviceId, unreadBytes },
      'device does not read its downlinks: connection closed',
    );
    if (session) session.close('it does not read its downlinks');
    else client.close();
  }

  get port(): number {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** The TLS listener's port; 0 when no certificate is configured. */
  get tlsPort(): number {
    const address = this.#tlsServer?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get connectedDevices(): number {
    return this.#byDevice.size;
  }

  /**
   * Opens the TCP listener, the TLS listener when a certificate and key are configured, and, given
   * the HTTP server, MQTT over WebSocket at /mqtt on it (upgrades on other paths are left to other
   * handlers, or refused when there are none).
   */
  async start(options: { httpServer?: HttpServer } = {}): Promise<void> {
    const { config } = this.deps;
    // Read the key material first: a bad path fails the start before any socket opens.
    const tls = await loadTlsMaterial(
      { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile },
      { cert: 'mqtt.tlsCertFile', key: 'mqtt.tlsKeyFile' },
    );
    const aedes = await Aedes.createBroker({
      // aedes does not catch a hook that throws: #guarded turns it into the end of that one client.
      authenticate: (client, username, password, done) => {
        const once = onlyOnce(done);
        this.#guarded(
          'authenticate',
          client,
          () => this.#authenticate(client, username, password, once),
          () =>
            once(
              Object.assign(new Error('internal error'), { returnCode: MqttReturnCode.serverUnavailable }),
              false,
            ),
        );
      },
      authorizePublish: (client, packet, done) => {
        const once = onlyOnce(done);
        this.#guarded(
          'authorizePublish',
          client,
          () => this.#authorizePublish(client, packet, once),
          () => once(new Error('internal error')),
        );
      },
      authorizeSubscribe: (client, sub, done) => {
        const once = onlyOnce(done);
        this.#guarded(
          'authorizeSubscribe',
          client,
          () => this.#authorizeSubscribe(client, sub, once),
          () => once(null, null),
        );
      },
      authorizeForward: (client, packet) =>
        this.#guarded(
          'authorizeForward',
          client,
          () => this.#authorizeForward(client, packet),
          () => null,
        ),
      maxClientsIdLength: MAX_CLIENT_ID,
    });
    endDevicePublishesAtTheGateway(aedes);
    this.#packetCap = packetSizeCap(this.#maxPacketBytes(), (client, length) => {
      this.deps.logger.info(
        { clientId: client?.id, length },
        'packet over the hard size cap: connection dropped',
      );
      client?.conn.destroy();
    });
    aedes.on('clientReady', (client) => this.#onReady(client));
    aedes.on('ack', (_packet, client) => this.#sessions.get(client)?.acknowledged());
    aedes.on('clientDisconnect', (client) => this.#onGone(client));
    aedes.on('clientError', (client, error) =>
      this.deps.logger.debug({ clientId: client.id, err: error.message }, 'client error'),
    );
    this.#aedes = aedes;
    const server = createServer((socket) => this.#handle(socket));
    this.#server = server;
    await listen(server, config.port, config.host);
    if (tls) {
      const tlsServer = createTlsServer(tls, (socket) => this.#handle(socket));
      // A failed handshake is the client's problem, not the gateway's: log it quietly.
      tlsServer.on('tlsClientError', (error) =>
        this.deps.logger.debug({ err: error.message }, 'TLS handshake failed'),
      );
      this.#tlsServer = tlsServer;
      await listen(tlsServer, config.tlsPort, config.host);
    }
    if (options.httpServer && config.websocket) {
      // A WebSocket frame carries MQTT bytes: the same hard cap, enforced by ws before buffering.
      this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#maxPacketBytes() + 8 });
      this.#httpServer = options.httpServer;
      options.httpServer.on('upgrade', this.#onUpgrade);
    }
    this.deps.logger.info(
      { port: this.port, tlsPort: this.tlsPort, websocket: this.#wss !== undefined, host: config.host },
      'MQTT broker listening',
    );
  }

  #handle(stream: Socket | Duplex): void {
    const aedes = this.#aedes;
    if (!aedes) {
      stream.destroy();
      return;
    }
    const client = aedes.handle(stream);
    this.#connections.set(stream, client);
    stream.on('close', this.#onStreamClose);
    if (!this.#packetCap?.apply(client) && !this.#warnedNoCap) {
      this.#warnedNoCap = true;
      this.deps.logger.warn(
        'cannot cap MQTT packet sizes with this aedes version; large packets are buffered',
      );
    }
    if (!this.#unsubscribes.apply(client) && !this.#warnedNoUnsubscribe) {
      this.#warnedNoUnsubscribe = true;
      this.deps.logger.warn('cannot map UNSUBSCRIBE with this aedes version; devices cannot unsubscribe');
    }
  }

  /**
   * Messages up to the per-message limit are normal; up to 4x (plus room for the topic) are
   * answered on downlink/diag by authorizePublish; anything larger is not worth reading at all.
   */
  #maxPacketBytes(): number {
    return this.deps.config.maxMessageBytes * 4 + 1024;
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.#wss;
    const path = (request.url ?? '').split('?')[0];
    if (!wss || path !== MQTT_WEBSOCKET_PATH) {
      // Another upgrade handler may own that path; with none, an open socket would just hang.
      if ((this.#httpServer?.listenerCount('upgrade') ?? 0) <= 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const stream = createWebSocketStream(ws);
      // The stream errors when the peer vanishes; aedes sees the close either way.
      stream.on('error', () => stream.destroy());
      this.#handle(stream);
    });
  }

  async stop(): Promise<void> {
    const servers = [this.#server, this.#tlsServer].filter((s): s is Server | TlsServer => s !== undefined);
    const aedes = this.#aedes;
    this.#server = undefined;
    this.#tlsServer = undefined;
    this.#aedes = undefined;
    this.#sessionContext = undefined;
    this.#httpServer?.off('upgrade', this.#onUpgrade);
    this.#httpServer = undefined;
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of this.#connections.keys()) socket.destroy();
    this.#connections.clear();
    await Promise.all(closed);
    if (this.#wss) {
      const wss = this.#wss;
      this.#wss = undefined;
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    this.#byDevice.clear();
  }

  /** Retained messages the broker holds: always 0, since no device publish is ever retained. */
  async retainedMessages(): Promise<number> {
    const persistence = (this.#aedes as unknown as { persistence?: RetainedSource } | undefined)?.persistence;
    if (!persistence) return 0;
    let count = 0;
    for await (const _packet of persistence.createRetainedStream('#')) count++;
    return count;
  }

  isConnected(deviceId: string): boolean {
    return this.#byDevice.has(deviceId);
  }

  /**
   * One message of a connected device's per-second budget, spent outside MQTT (Blynk's HTTPS device
   * API), so that both ways together stay within the limit; true when it is not connected here.
   */
  chargeMessage(deviceId: string): boolean {
    const session = this.#byDevice.get(deviceId);
    return !session || spend(session, this.deps.clock.now(), this.deps.config.publishesPerSecond);
  }

  /** Publish on a device's downlink; false when the device is not connected. */
  sendToDevice(deviceId: string, deviceTopic: string, payload: string, qos: 0 | 1 = 0): boolean {
    const session = this.#byDevice.get(deviceId);
    if (!session) return false;
    session.send(deviceTopic, payload, qos);
    return true;
  }

  async sendAndConfirm(
    deviceId: string,
    deviceTopic: string,
    payload: string,
    timeoutMs: number,
  ): Promise<DownlinkConfirmation> {
    const session = this.#byDevice.get(deviceId);
    if (!session) return { online: false, acked: false };
    return session.confirm(deviceTopic, payload, timeoutMs);
  }

  /** Uplinks of a device accepted and not yet handled (0 when not connected): for health and tests. */
  backlogOf(deviceId: string): number {
    return this.#byDevice.get(deviceId)?.pending ?? 0;
  }

  /** Drop a device's connection (token revoked, device deleted); false when it was not connected. */
  async disconnect(
    deviceId: string,
    reason: string,
    last?: { topic: string; payload: string },
  ): Promise<boolean> {
    this.deps.devices.forgetToken(deviceId);
    this.#voidUpTo.set(deviceId, this.#sessionSeq);
    const session = this.#byDevice.get(deviceId);
    if (!session) return false;
    // Forget the session now: a new connection with a new token must not be taken for this one.
    this.#byDevice.delete(deviceId);
    if (last) await session.closeAfter(last.topic, last.payload, 1, reason);
    else session.close(reason);
    void this.deps.devices.setOnline(deviceId, false);
    return true;
  }

  /**
   * Runs one broker hook for one client. A hook that throws ends that client alone, with a logged,
   * coded reason (the crash policy's rule: one failing handler never takes the others down).
   */
  #guarded<R>(hook: BrokerHook, client: Client | null, run: () => R, refuse: () => R): R {
    try {
      return run();
    } catch (error) {
      this.deps.metrics?.refused(HOOK_STAGE[hook], 'INTERNAL');
      this.deps.logger.error(
        {
          err: error,
          code: 'INTERNAL',
          hook,
          clientId: client ? String(client.id).slice(0, MAX_CLIENT_ID) : null,
        },
        'broker hook failed: closing its client',
      );
      const answer = refuse();
      // A refused CONNECT is closed by aedes after its CONNACK; any other hook closes here.
      if (hook !== 'authenticate') client?.close();
      return answer;
    }
  }

  #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: (Error & { returnCode: number }) | null, success: boolean | null) => void,
  ): void {
    const refuse = (returnCode: number, reason: string, code = 'IDENTIFIER_REJECTED') => {
      this.deps.metrics?.refused('connect', code);
      this.deps.logger.info({ clientId: client.id.slice(0, MAX_CLIENT_ID), reason }, 'connection refused');
      done(Object.assign(new Error(reason), { returnCode }), false);
    };
    // aedes checks the client id length only for MQTT 3.1 (protocol level 3); we check every level.
    if (client.id.length > MAX_CLIENT_ID) {
      refuse(MqttReturnCode.identifierRejected, `client id longer than ${MAX_CLIENT_ID} characters`);
      return;
    }
    if (username !== DEVICE_USERNAME || !password) {
      refuse(
        MqttReturnCode.badUsernameOrPassword,
        'username must be "device" and the password the device token',
      );
      return;
    }
    this.deps.devices.authenticateConnection(password.toString('utf8')).then(
      (device) => {
        const waitMs = this.#backoff.remainingMs(device.id, this.deps.clock.now());
        if (waitMs > 0) {
          // CONNACK 3 ("server unavailable") says "later"; 4 or 5 would read as a bad token.
          refuse(
            MqttReturnCode.serverUnavailable,
            `device ${device.id} closed for repeated limit breaches: refused for ${Math.ceil(waitMs / 1000)} s more`,
            'RATE_LIMITED',
          );
          return;
        }
        const session = this.#newSession(client, device.id);
        this.#sessions.set(client, session);
        // The session's key is the device, not the id the client chose: two devices that pick the
        // same client id (or none) never meet, and a second connection of one token takes over.
        // aedes registers the client under this id and closes the one it replaces (on this node
        // and, in a cluster, through its $SYS new/clients message on every other node).
        const previous = this.#byDevice.get(device.id);
        if (previous) previous.successor = session;
        // Its stream's close ends it (#onStreamClose), also one that dies before it is registered
        // (aedes emits clientDisconnect only for registered clients).
        this.deps.logger.debug(
          { deviceId: device.id, clientId: client.id.slice(0, MAX_CLIENT_ID) },
          'device connected',
        );
        client.id = brokerClientId(device.id);
        done(null, true);
      },
      (error: unknown) => {
        // Token problems never say more than "bad username or password" on the wire.
        const code = isTetherError(error) ? error.mqttReturnCode : MqttReturnCode.serverUnavailable;
        refuse(code, isTetherError(error) ? error.code : 'internal error', toTetherError(error).code);
        if (!isTetherError(error)) this.deps.logger.error({ err: error }, 'authenticate failed');
      },
    );
  }

  #newSession(client: Client, deviceId: string): DeviceSession {
    this.#sessionContext ??= this.#makeSessionContext();
    return new DeviceSession(deviceId, client, ++this.#sessionSeq, this.#sessionContext);
  }

  #makeSessionContext(): SessionContext {
    return {
      backlogLow: BACKLOG_LOW,
      onUplinkFailed: (session, error) => {
        // A handler that fails unexpectedly ends this device's connection, never the process.
        this.deps.logger.error({ err: error, deviceId: session.deviceId, code: 'INTERNAL' }, 'uplink failed');
        session.close('INTERNAL: an uplink handler failed', {
          code: 'INTERNAL',
          message: 'The gateway failed to handle this message.',
        });
      },
      clock: this.deps.clock,
      logger: this.deps.logger,
      breachDecayMs: BREACH_DECAY_MS,
      onAbuse: (session) => {
        const windowMs = this.#backoff.punish(session.deviceId, this.deps.clock.now());
        this.deps.logger.info(
          { deviceId: session.deviceId, refusedForMs: windowMs },
          'device closed for repeated limit breaches: its reconnects are refused for a while',
        );
      },
      metrics: this.deps.metrics,
      outbox: this.#outbox,
    };
  }

  /**
   * The connection is established: it becomes the device's one session. aedes has already closed
   * the connection it took over (same broker-side client id) before it gets here.
   */
  #onReady(client: Client): void {
    const session = this.#sessions.get(client);
    if (!session || session.closing) return;
    const { deviceId } = session;
    if (session.seq <= (this.#voidUpTo.get(deviceId) ?? 0)) {
      session.close('its token was voided while it connected');
      return;
    }
    this.#byDevice.set(deviceId, session);
    void this.deps.devices.setOnline(deviceId, true);
  }

  #onGone(client: Client): void {
    const session = this.#sessions.get(client);
    if (!session) return;
    this.#sessions.delete(client);
    session.gone = true;
    const { deviceId } = session;
    if (this.#byDevice.get(deviceId) === session) this.#byDevice.delete(deviceId);
    if (session.successor && !session.successor.gone) {
      this.deps.logger.info({ deviceId }, 'another connection took over this token');
      return; // the device stays online through its new connection
    }
    if (!this.#byDevice.has(deviceId) && this.deps.devices.isOnline(deviceId))
      void this.deps.devices.setOnline(deviceId, false);
  }

  #authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    // Publishes without a client are the gateway's own (downlinks): they are already mapped.
    if (!client) return done(null);
    const session = this.#sessions.get(client);
    if (!session) return done(new Error('not authenticated'));
    // A closing connection's last packets are dropped, not refused: an error here would make
    // aedes destroy the socket before the closing diag is out.
    if (session.closing) return done(null);
    if (session.seq <= (this.#voidUpTo.get(session.deviceId) ?? 0)) return done(new Error('token voided'));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    // Whatever happens next, nothing a device sends is retained (nor routed: see the end of this file).
    packet.retain = false;
    const now = this.deps.clock.now();
    const breach = this.#checkLimits(session, packet.topic, payload.length, packet.qos, now);
    if (breach) {
      this.deps.metrics?.refused('publish', breach.code);
      session.breach(breach.code, breach.message, BREACHES_BEFORE_CLOSE);
      return done(null); // dropped; a closing session ends with its diag flushed
    }
    const uplink = session.parseUplink(packet.topic);
    if (!uplink) {
      // Not part of the device API: answered and logged; the connection stays (Blynk firmware may
      // publish a topic Tether does not serve). Only the limits above close a connection.
      this.#unsupported(session, packet.topic);
      return done(null);
    }
    this.deps.metrics?.uplink(uplink.kind);
    // In order per device: an uplink starts when the one before has been handled. With nothing
    // pending it starts at once, and most (datastream values) are handled then and there: no
    // promise at all. Only one that waits for something joins the device's chain.
    if (session.pending === 0) {
      const handling = this.deps.uplinks.handle(session, uplink, payload, now);
      if (handling === undefined) return done(null);
      session.enqueue(() => handling);
      return done(null);
    }
    session.enqueue(() => this.deps.uplinks.handle(session, uplink, payload));
    // Backpressure: aedes reads a socket however far handling lags, and a flooding device would
    // then stall the event loop for seconds while its backlog drains (bench s6). aedes reads the
    // next chunk only when every packet of the last one has called back: holding the callbacks
    // stops reading this device, and TCP pushes back on it until the backlog is down again.
    if (session.pending >= BACKLOG_HIGH) {
      session.hold(() => done(null));
      return;
    }
    done(null);
  }

  /**
   * Size (the PUBLISH variable header plus payload, as Blynk counts it) and per-second rate. A
   * breach is coded by its kind; the message is dropped and the device told on downlink/diag.
   */
  #checkLimits(
    session: DeviceSession,
    topic: string,
    payloadBytes: number,
    qos: number,
    now: number,
  ): { code: 'PAYLOAD_TOO_LARGE' | 'RATE_LIMITED'; message: string } | undefined {
    const { maxMessageBytes, publishesPerSecond } = this.deps.config;
    if (!spend(session, now, publishesPerSecond))
      return { code: 'RATE_LIMITED', message: `more than ${publishesPerSecond} messages per second` };
    const size = publishSize(topic, payloadBytes, qos);
    if (size > maxMessageBytes) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        message: `message of ${size} bytes (topic and payload) is over the limit of ${maxMessageBytes}`,
      };
    }
    return undefined;
  }

  /** A topic outside the device API: a diag for the device, a log line for the people. */
  #unsupported(session: DeviceSession, topic: string): void {
    this.deps.metrics?.refused('publish', 'TOPIC_UNSUPPORTED');
    const shown = topic.slice(0, 80);
    session.diag(
      'TOPIC_UNSUPPORTED',
      `topic ${shown} is not part of the device API; the message was dropped`,
    );
    const level = session.unsupportedLogged++ < 10 ? 'info' : 'debug';
    this.deps.logger[level](
      { deviceId: session.deviceId, topic: shown },
      'unsupported topic: answered on diag',
    );
  }

  #authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const session = this.#sessions.get(client);
    if (!session || !isAllowedDeviceSubscription(sub.topic)) {
      this.deps.metrics?.refused('subscribe', 'PERMISSION_DENIED');
      return done(null, null); // SUBACK 0x80
    }
    done(null, { ...sub, topic: internalTopic(session.deviceId, sub.topic) });
  }

  #authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = this.#sessions.get(client);
    const topic = session ? deviceTopicOf(session.deviceId, packet.topic) : null;
    if (topic === null) return null;
    return { ...packet, topic } as AedesPublishPacket;
  }
}

interface RetainedSource {
  createRetainedStream(pattern: string): AsyncIterable<unknown>;
}

/**
 * A device's publish ends at the gateway: authorizePublish hands it to the uplink handler (or
 * refuses it), and nothing a device sends is routed to other clients or stored as retained
 * state, whatever its topic or retain flag. aedes would otherwise route every publish it
 * accepts, including one that authorizePublish let through only to answer it with a diag. Only
 * the gateway's own publishes (downlinks, which carry no client, and aedes' $SYS notices) are
 * routed. This also spares each uplink the emitter's topic match.
 */
function endDevicePublishesAtTheGateway(aedes: Aedes): void {
  type Publish = (packet: PublishPacket, client: unknown, done?: (error?: Error) => void) => void;
  const route = (aedes.publish as unknown as Publish).bind(aedes);
  const publish: Publish = (packet, client, done) => {
    if (typeof client === 'function') return route(packet, null, client as (error?: Error) => void);
    if (client) return done?.();
    return route(packet, client, done);
  };
  (aedes as unknown as { publish: Publish }).publish = publish;
}

/** The id aedes knows a device's connection by: one per device, whatever client id it sent. */
export const brokerClientId = (deviceId: string): string => deviceId;

function listen(server: Server | TlsServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

type BrokerHook = 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward';
const HOOK_STAGE = {
  authenticate: 'connect',
  authorizePublish: 'publish',
  authorizeSubscribe: 'subscribe',
  authorizeForward: 'publish',
} as const satisfies Record<BrokerHook, 'connect' | 'publish' | 'subscribe'>;

/** A callback that answers at most once: a hook that threw after answering is not answered twice. */
function onlyOnce<A extends unknown[]>(done: (...args: A) => void): (...args: A) => void {
  let answered = false;
  return (...args: A) => {
    if (answered) return;
    answered = true;
    done(...args);
  };
}

/** One message from a session's per-second window (a fixed one-second window); false when it is spent. */
function spend(session: DeviceSession, now: number, perSecond: number): boolean {
  if (now - session.windowStart >= 1000) {
    session.windowStart = now;
    session.windowCount = 0;
  }
  return ++session.windowCount <= perSecond;
}
