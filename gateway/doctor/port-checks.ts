/**
 * The listeners: each port is either free to bind (the gateway is not running), or answered by
 * the gateway that holds this data folder. A port taken by another program, or one this user
 * may not bind, is what stops a start with ADDRESS_IN_USE.
 */
import { connect, createServer } from 'node:net';
import type { TetherConfig } from '../../shared/config.js';
import { storeFileOf } from '../store/data-folder-backup.js';
import { type LockHolder, lockHolder } from '../store/data-lock.js';
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
  const holder = await lockHolder(env.files, lockPath(storeFileOf(dataDir)));
  const gateway = holder?.purpose === 'gateway' ? holder : undefined;
  return Promise.all(listenersOf(config).map((l) => checkListener(l, gateway, env.timeoutMs)));
}

async function checkListener(
  l: Listener,
  gateway: LockHolder | undefined,
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
  const target = l.host === '0.0.0.0' || l.host === '::' ? '127.0.0.1' : l.host;
  if (gateway) {
    const answers = await (l.probe === 'http' ? httpAnswers : tcpAnswers)(target, l.port, timeoutMs);
    return answers
      ? ok(check, `${where} is served by the running gateway (process ${gateway.pid})`)
      : fail(
          check,
          'GATEWAY_UNREACHABLE',
          `${where} is in use, and the gateway (process ${gateway.pid}) holding this data folder does not answer there. Look at its log, or restart it.`,
        );
  }
  return fail(
    check,
    'ADDRESS_IN_USE',
    `${where} is in use by another program (no gateway holds this data folder). Stop it (ss -ltnp 'sport = :${l.port}' shows which), or choose another port with ${l.setting}.`,
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
