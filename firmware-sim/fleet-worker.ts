/**
 * The worker-thread side of FleetPool: run one shard of the fleet and report back. The bundled
 * CLI calls runFleetWorker() first thing; outside a fleet worker it returns false at once.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import { TetherError } from '../shared/errors.js';
import { GatewayClient } from '../shared/gateway-client.js';
import { REDACTED_KEYS } from '../shared/logger.js';
import { FLEET_WORKER_KIND, type FleetShardSpec, type FleetWorkerMessage } from './fleet-pool.js';
import { FleetRunner, type FleetUser } from './fleet-runner.js';

export async function runFleetWorker(): Promise<boolean> {
  const spec = workerData as FleetShardSpec | undefined;
  if (isMainThread || !parentPort || spec?.kind !== FLEET_WORKER_KIND) return false;
  const port = parentPort;
  const send = (message: FleetWorkerMessage) => port.postMessage(message);
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    const users: FleetUser[] = [];
    for (const user of spec.users) {
      const gateway = new GatewayClient({ baseUrl: user.baseUrl, session: user.session });
      if (user.password) await gateway.login(user.email, user.password);
      else if (!user.session)
        throw new TetherError('AUTH_REQUIRED', `No password or session for ${user.email}.`);
      users.push({ email: user.email, gateway });
    }
    const runner = new FleetRunner({
      count: spec.count,
      indexOffset: spec.indexOffset,
      fleetSize: spec.fleetSize,
      templateId: spec.templateId,
      ...(spec.hotspotPrefix ? { hotspotPrefix: spec.hotspotPrefix } : {}),
      datastreams: spec.datastreams,
      scenario: spec.scenario,
      users,
      ...(spec.flashDir ? { flashDir: spec.flashDir } : {}),
      logger: fleetLogger(spec.logLevel).child({ module: 'fleet', shard: spec.indexOffset }),
    });
    port.on('message', (message: { type?: string }) => {
      if (message.type === 'finish') runner.finish();
    });
    progressTimer = setInterval(() => send({ type: 'progress', progress: runner.progress() }), 250);
    const results = await runner.run();
    send({ type: 'progress', progress: runner.progress() });
    send({ type: 'done', results, provisioningMs: runner.provisioningMs });
  } catch (error) {
    send({ type: 'error', message: (error as Error).message });
  } finally {
    clearInterval(progressTimer);
    port.close();
  }
  return true;
}

/**
 * Device logs of a fleet go to stderr: stdout carries the summary (and --json). Same redaction as
 * every Tether logger: tokens, passphrases and PoPs never reach a log.
 */
export function fleetLogger(level: string): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino({ level, redact: { paths, censor: '[redacted]' } }, pino.destination(2));
}
