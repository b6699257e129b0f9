/**
 * The listeners: each port is either free to bind (the gateway is not running), or answered by
 * the gateway that holds this data folder. A gateway on PostgreSQL holds no data-folder lock:
 * there the gateway is the one whose /healthz answers on the HTTP port and names the MQTT port. A
 * port taken by another program, or one this user may not bind, is what stops a start with
 * ADDRESS_IN_USE.
 */
import { connect, createServer } from 'node:net';
import type { TetherConfig } from '../../shared/config.js';
import { storeFileOf } from '../store/data-folder-backup.js';
import { lockHolder } from '../store/data-lock.js';
import { lockPath } from '../store/store-file.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok } from './doctor.js';

interface Listener {
  name: string;
  host: string;
  port: number;
  setting: string;
  /** How to tell that the gateway answers there. */
  probe: 'http' | 'tcp';
}

export function listenersOf(config: TetherConfig): Listener[] {
  const listeners: Listener[] = [
    {
      name: 'http',
      host: config.http.host,
      port: config.http.port,
      setting: 'TETHER_HTTP_PORT',
      probe: 'http',
    },
    {
      name: 'mqtt',
      host: config.mqtt.host,
      port: config.mqtt.port,
      setting: 'TETHER_MQTT_PORT',
      probe: 'tcp',
    },
  ];
  if (config.mqtt.tlsCertFile && config.mqtt.tlsKeyFile) {
    listeners.push({
      name: 'mqtt tls',
      host: config.mqtt.host,
      port: config.mqtt.tlsPort,
      setting: 'TETHER_MQTT_TLS_PORT',
      probe: 'tcp',
    });
  }
  return listeners;
}

export async function checkPorts(
  config: TetherConfig,
  dataDir: string,
  env: DoctorEnv,
): Promise<CheckResult[]> {
  const listeners = listenersOf(config);
  let gateway: RunningGateway | undefined;
  if (config.store.backend === 'postgres') {
    gateway = await gatewayAnswering(listeners[0]!, env.timeoutMs);
  } else {
    const holder = await lockHolder(env.files, lockPath(storeFileOf(dataDir)));
    if (holder?.purpose === 'gateway') gateway = { name: `the running gateway (process ${holder.pid})` };
  }
  return Promise.all(listeners.map((l) => checkListener(l, gateway, env.timeoutMs)));
}

interface RunningGateway {
  /** How the messages name it. */
  name: string;
  /** The MQTT port its /healthz names, when it was found that way. */
  mqttPort?: number;
}

/** A Tether gateway answering /healthz on the HTTP listener, with the MQTT port it names. */
async function gatewayAnswering(http: Listener, timeoutMs: number): Promise<RunningGateway | undefined> {
  if (http.port === 0) return undefined;
  try {
    const res = await fetch(`http://${probeHost(http.host)}:${http.port}/healthz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as { status?: unknown; mqtt?: { port?: unknown } };
    if (body.status !== 'ok' || typeof body.mqtt?.port !== 'number') return undefined;
    return { name: 'a running gateway', mqttPort: body.mqtt.port };
  } catch {
    return undefined; // nothing there, not plain HTTP, or not a gateway
  }
}

const probeHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

async function checkListener(
  l: Listener,
  gateway: RunningGateway | undefined,
  timeoutMs: number,
): Promise<CheckResult> {
  const check = `port ${l.name}`;
  const where = `${l.host}:${l.port}`;
  if (l.port === 0) return ok(check, `${l.host}: any free port (0)`);
  const bound = await tryBind(l.host, l.port);
  if (bound === 'free') return ok(check, `${where} is free`);
  if (bound === 'EACCES') {
    return fail(
      check,
      'ADDRESS_IN_USE',
      `${where} needs privileges this user does not have (ports below 1024). Choose a port above 1023 with ${l.setting}, or grant CAP_NET_BIND_SERVICE (the systemd unit's AmbientCapabilities).`,
    );
  }
  if (bound !== 'EADDRINUSE') return fail(check, 'ADDRESS_IN_USE', `${where} cannot be bound (${bound}).`);
  const target = probeHost(l.host);
  const ours =
    gateway && (gateway.mqttPort === undefined || l.name !== 'mqtt' || gateway.mqttPort === l.port);
  if (gateway && ours) {
    const answers = await (l.probe === 'http' ? httpAnswers : tcpAnswers)(target, l.port, timeoutMs);
    return answers
      ? ok(check, `${where} is served by ${gateway.name}`)
      : fail(
          check,
          'GATEWAY_UNREACHABLE',
          `${where} is in use, and ${gateway.name} holding this data folder does not answer there. Look at its log, or restart it.`,
        );
  }
  const noGateway = gateway
    ? `the gateway here listens for MQTT on ${gateway.mqttPort}`
    : 'no gateway holds this data folder';
  return fail(
    check,
    'ADDRESS_IN_USE',
    `${where} is in use by another program (${noGateway}). Stop it (ss -ltnp 'sport = :${l.port}' shows which), or choose another port with ${l.setting}.`,
  );
}

function tryBind(host: string, port: number): Promise<'free' | string> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => done('free')));
  });
}

/** /healthz over plain HTTP; a listener speaking HTTPS (its certificate maybe self-signed) is taken at TCP. */
async function httpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return true;
  } catch {
    // no answer, or not plain HTTP
  }
  return tcpAnswers(host, port, timeoutMs);
}

function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const end = (answer: boolean) => {
      socket.destroy();
      done(answer);
    };
    socket.setTimeout(timeoutMs, () => end(false));
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
  });
}
