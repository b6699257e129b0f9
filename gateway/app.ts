/**
 * Builds a gateway as a list of parts (gateway/part.ts): the infrastructure chosen from the
 * configuration (store, cluster link, signing keys, event bus, limiters, mail: infrastructure.ts),
 * then first-run set-up, the MQTT broker and the HTTP API. start() starts them in that order;
 * stop() stops them in reverse.
 */
import { resolve } from 'node:path';
import { type Clock, SystemClock } from '../shared/clock.js';
import type { TetherConfig } from '../shared/config.js';
import { TetherError } from '../shared/errors.js';
import { DEFAULT_GATEWAY_URL } from '../shared/gateway-client.js';
import { type Logger, moduleLogger, silentLogger } from '../shared/logger.js';
import type { LinkBuilder } from './accounts/account-deps.js';
import { buildAccountServices } from './accounts/account-services.js';
import { AuthService, type FirstRunResult } from './accounts/auth-service.js';
import { createPasswordHasher, type PasswordHasher } from './accounts/passwords.js';
import { PlanLimits } from './accounts/plan-limits.js';
import { RoleService } from './accounts/role-service.js';
import type { SessionRevocations } from './accounts/session-revocations.js';
import { Auditor } from './audit.js';
import { DeviceBroker, MQTT_WEBSOCKET_PATH } from './broker/device-broker.js';
import { DeviceEventService } from './devices/device-events.js';
import { DeviceLifecycleService } from './devices/device-lifecycle-service.js';
import { DeviceRemoval } from './devices/device-removal.js';
import { DeviceService } from './devices/device-service.js';
import { ProvisioningService } from './devices/provisioning-service.js';
import { StaticTokenService } from './devices/static-token-service.js';
import { TemplateService } from './devices/template-service.js';
import { TimeZones } from './devices/time-zones.js';
import { UplinkHandler } from './devices/uplink-handler.js';
import { buildHttpApp, type HttpApp } from './http/http-app.js';
import { HttpListener } from './http/http-listener.js';
import { buildInfrastructure } from './infrastructure.js';
import { GatewayMetrics } from './metrics.js';
import { type Part, part, startParts, stopParts } from './part.js';
import type { GatewayServices } from './services.js';
import type { Store } from './store/store.js';
import { assertWritableFolder } from './store/store-file.js';
import { nodeStoreFiles } from './store/store-files.js';
import { loadTlsMaterial } from './tls-material.js';

export interface GatewayOptions {
  config: TetherConfig;
  clock?: Clock;
  logger?: Logger;
  /** A store of your own (tests, PostgreSQL later); default: the embedded JSON store in dataDir. */
  store?: Store;
  /** Keep everything in memory: no data folder is touched (tests, benchmarks). */
  inMemory?: boolean;
  /** Tests lower the scrypt cost; production never passes this. */
  passwords?: PasswordHasher;
  /** Ended sessions; default: this process's memory (a cluster shares one). */
  revocations?: SessionRevocations;
  /** The built web console to serve at / (default: dist/console beside the code). */
  consoleDir?: string;
}

export class Gateway {
  readonly services: GatewayServices;
  readonly http: HttpApp;
  readonly #listener: HttpListener;
  /** In start order. */
  readonly #parts: Part[];
  readonly #logger: Logger;
  readonly #options: GatewayOptions;
  #started = false;
  #stopping: string | undefined;
  #firstRun: FirstRunResult | undefined;

  /** The HTTP port speaks HTTPS (and MQTT over WebSocket is wss). */
  readonly httpsEnabled: boolean;

  private constructor(
    options: GatewayOptions,
    services: GatewayServices,
    listener: HttpListener,
    parts: Part[],
    logger: Logger,
    httpsEnabled: boolean,
  ) {
    this.#options = options;
    this.services = services;
    this.http = listener.app;
    this.#listener = listener;
    this.#parts = parts;
    this.#logger = logger;
    this.httpsEnabled = httpsEnabled;
  }

  static async create(options: GatewayOptions): Promise<Gateway> {
    const { config } = options;
    const clock = options.clock ?? new SystemClock();
    const logger = options.logger ?? silentLogger();
    const dataDir = options.inMemory ? undefined : resolve(config.dataDir);
    // Before anything is written there: a clear refusal, not a crash later.
    if (dataDir) await assertWritableFolder(nodeStoreFiles, dataDir);
    // A bad certificate fails here, before anything listens or the store opens.
    const httpTls = await loadTlsMaterial(
      { certFile: config.http.tlsCertFile, keyFile: config.http.tlsKeyFile },
      { cert: 'http.tlsCertFile', key: 'http.tlsKeyFile' },
    );
    // Metrics are made before the store and the broker, which report into them.
    let metrics: GatewayMetrics | undefined;
    const infra = await buildInfrastructure({
      config,
      clock,
      logger,
      dataDir,
      store: options.store,
      onStoreWrite: (ms) => metrics?.storeWrite(ms),
    });
    const { store, events, keys, limiters, mailer, presence } = infra;
    let broker: DeviceBroker | undefined;
    metrics = new GatewayMetrics({ events, store, connectedDevices: () => broker?.connectedDevices ?? 0 });
    const auditor = new Auditor(store, clock);
    const auth = new AuthService({
      store,
      clock,
      config,
      keys,
      limiters,
      passwords: options.passwords ?? createPasswordHasher(),
      revocations: options.revocations ?? infra.revocations,
      auditor,
      logger: moduleLogger(logger, 'auth'),
    });
    const plans = new PlanLimits({ store, config, clock });
    const templates = new TemplateService({ store, clock, auditor, plans });
    const devices = new DeviceService({
      store,
      clock,
      events,
      auditor,
      presence,
      tokens: infra.tokens,
      logger: moduleLogger(logger, 'devices'),
    });
    // Links in mail point at the configured public URL, else at the address the API listens on;
    // never at a request's Host header, which a caller controls (reset-link poisoning).
    let listener: HttpListener | undefined;
    const publicBase = () => httpBaseUrl(config, listener?.port || config.http.port, httpTls !== undefined);
    const links: LinkBuilder = {
      url: (kind, token) => `${publicBase()}/${kind}#token=${encodeURIComponent(token)}`,
      gatewayOption: () => (publicBase() === DEFAULT_GATEWAY_URL ? '' : ` --gateway ${publicBase()}`),
    };
    const deviceEvents = new DeviceEventService({
      store,
      clock,
      events,
      mailer,
      devices,
      logger: moduleLogger(logger, 'device-events'),
      deviceLink: (deviceId) => `${publicBase()}/devices/${encodeURIComponent(deviceId)}`,
    });
    const uplinks = new UplinkHandler({
      devices,
      store,
      clock,
      logger: moduleLogger(logger, 'uplink'),
      metrics,
      timeZones: new TimeZones(),
      deviceEvents,
    });
    broker = new DeviceBroker({
      config: config.mqtt,
      clock,
      logger: moduleLogger(logger, 'broker'),
      devices,
      uplinks,
      metrics,
    });
    // Devices are reached through this node's broker, or through the node that holds them.
    const routing = infra.routeConnections(broker);
    const connections = routing.connections;
    const provisioning = new ProvisioningService({
      plans,
      store,
      clock,
      logger: moduleLogger(logger, 'provisioning'),
      config,
      events,
      auditor,
      devices,
      templates,
      connections,
    });
    // One way devices leave, whoever deletes them: a person, or an org deleted with its contents.
    const deviceRemoval = new DeviceRemoval({ events, connections });
    const lifecycle = new DeviceLifecycleService({
      store,
      clock,
      events,
      auditor,
      devices,
      connections,
      removal: deviceRemoval,
      logger: moduleLogger(logger, 'lifecycle'),
    });
    const staticTokens = new StaticTokenService({
      plans,
      store,
      clock,
      config,
      events,
      auditor,
      devices,
      templates,
      connections,
      limiters,
    });
    const roles = new RoleService({ store, clock, auditor, plans });
    const accounts = buildAccountServices({
      store,
      clock,
      config,
      auditor,
      events,
      auth,
      plans,
      roles,
      mailer,
      links,
      logger: moduleLogger(logger, 'accounts'),
      limiters,
      deviceRemoval,
    });
    const services: GatewayServices = {
      config,
      dataDir,
      clock,
      store,
      events,
      auditor,
      auth,
      templates,
      devices,
      provisioning,
      broker,
      cluster: infra.cluster,
      connections,
      lifecycle,
      staticTokens,
      deviceEvents,
      accounts,
      metrics,
    };
    const http = buildHttpApp({
      services,
      logger: moduleLogger(logger, 'http'),
      bodyLimitBytes: config.http.bodyLimitBytes,
      consoleDir: options.consoleDir,
      tls: httpTls,
    });
    listener = new HttpListener(http, { port: config.http.port, host: config.http.host });
    let stopWatching: (() => void) | undefined;
    const gateway: Gateway = new Gateway(
      options,
      services,
      listener,
      [
        // Stopped last: every other part may still report while it stops.
        part(
          'metrics',
          () => undefined,
          () => metrics.close(),
        ),
        ...infra.parts,
        part(
          'device-watch',
          () => {
            stopWatching = devices.watch();
          },
          () => stopWatching?.(),
        ),
        ...routing.parts,
        // Stopping it reports the login lockouts still running, while the store is open.
        part(
          'first-run',
          async () => {
            gateway.#firstRun = await auth.ensureFirstRun();
            await auth.restoreRevocations();
          },
          () => auth.stop(),
        ),
        provisioning,
        // The broker also serves MQTT over WebSocket at /mqtt on the HTTP server.
        part(
          'broker',
          () => broker.start({ httpServer: http.server }),
          () => broker.stop(),
        ),
        listener,
      ],
      logger,
      httpTls !== undefined,
    );
    return gateway;
  }

  /** What first-run set-up did (created the admin, or needs the setup code); set by start(). */
  get firstRun(): FirstRunResult | undefined {
    return this.#firstRun;
  }

  get httpPort(): number {
    return this.#listener.port;
  }

  get mqttPort(): number {
    return this.services.broker.port;
  }

  /** Base URL of the HTTP API (https:// when TLS is on), as the configuration or the bound port gives it. */
  get httpUrl(): string {
    return httpBaseUrl(this.services.config, this.httpPort, this.httpsEnabled);
  }

  /**
   * Every door the gateway opened, as the URL a person or a device uses, and the ones that are
   * off with the settings that open them: for the start-up banner.
   */
  listeners(): Listener[] {
    const { config, broker } = this.services;
    const mqttHost = localHost(config.mqtt.host);
    const http = this.httpUrl;
    const ws = http.replace(/^http/, 'ws');
    return [
      { name: this.httpsEnabled ? 'HTTPS API' : 'HTTP API', url: http },
      { name: 'MQTT', url: `mqtt://${mqttHost}:${broker.port}` },
      broker.tlsPort > 0
        ? { name: 'MQTT over TLS', url: `mqtts://${mqttHost}:${broker.tlsPort}` }
        : { name: 'MQTT over TLS', off: 'set mqtt.tlsCertFile and mqtt.tlsKeyFile' },
      config.mqtt.websocket
        ? { name: this.httpsEnabled ? 'MQTT over WSS' : 'MQTT over WS', url: `${ws}${MQTT_WEBSOCKET_PATH}` }
        : { name: 'MQTT over WS', off: 'mqtt.websocket is false' },
    ];
  }

  async start(): Promise<void> {
    if (this.#started) return;
    try {
      await startParts(this.#parts);
    } catch (error) {
      throw listenError(error, this.services.config);
    }
    this.#started = true;
    this.#logger.info({ httpPort: this.httpPort, mqttPort: this.mqttPort }, 'gateway started');
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await stopParts(this.#parts, (part) => {
      this.#stopping = part.name;
    });
    this.#stopping = undefined;
    this.#logger.info('gateway stopped');
  }

  /** The part being stopped now, while stop() runs. */
  get stoppingPart(): string | undefined {
    return this.#stopping;
  }

  get inMemory(): boolean {
    return this.#options.inMemory === true;
  }
}

/** A listener: where it is, or why it is off (and what opens it). */
export type Listener = { name: string; url: string } | { name: string; off: string };

/** 0.0.0.0 and :: are where a server binds, not where a person connects: show loopback instead. */
const localHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

function httpBaseUrl(config: TetherConfig, port: number, secure: boolean): string {
  const base =
    config.http.publicUrl || `${secure ? 'https' : 'http'}://${localHost(config.http.host)}:${port}`;
  return base.replace(/\/+$/, '');
}

/** A port that cannot be bound, said so a person can act on it (instead of an internal error). */
function listenError(error: unknown, config: TetherConfig): unknown {
  const e = error as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES') return error;
  const which =
    e.port === config.http.port
      ? { what: 'HTTP API', env: 'TETHER_HTTP_PORT', flag: '--http-port' }
      : e.port === config.mqtt.tlsPort
        ? { what: 'MQTT TLS listener', env: 'TETHER_MQTT_TLS_PORT', flag: undefined }
        : { what: 'MQTT broker', env: 'TETHER_MQTT_PORT', flag: '--mqtt-port' };
  const where = `${e.address ?? '0.0.0.0'}:${e.port ?? '?'}`;
  const why =
    e.code === 'EADDRINUSE'
      ? `${where} is already in use (another gateway or MQTT broker?)`
      : `${where} needs privileges this process does not have`;
  return new TetherError(
    'ADDRESS_IN_USE',
    `The ${which.what} cannot listen: ${why}. Stop the other program, or choose another port with ${which.env}${which.flag ? ` or ${which.flag}` : ''}.`,
    { cause: error, details: { port: e.port, address: e.address } },
  );
}
