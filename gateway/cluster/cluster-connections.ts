/**
 * DeviceConnections for a node of a cluster: a device connected here is reached through this
 * node's broker; one connected elsewhere through the node that holds it (presence says which),
 * over that node's own channel, `tether:node:<id>`. Nothing else crosses Redis: device uplinks
 * never leave the node that received them, and a downlink is one PUBLISH to one node.
 *
 * - disconnect (a revoked, re-provisioned or deleted token) goes to every node, on
 *   `tether:connections`: each one drops the device, voids the connections that authenticated
 *   with the old token but are not ready yet, and forgets the token (its token cache), then
 *   answers. The caller waits for every node's answer (PUBLISH says how many nodes heard it), so
 *   when a revoke returns, the token is refused on every node that can hear the cluster.
 * - a takeover: the node that loses a device to another node (presence.onMoved) closes its session.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { DeviceConnections, DownlinkConfirmation } from '../devices/device-connections.js';
import type { Presence } from '../devices/presence.js';
import type { Part } from '../part.js';
import { KEY_PREFIX, type RedisLink } from './redis-link.js';

export const BROADCAST_CHANNEL = `${KEY_PREFIX}connections`;
export const nodeChannel = (nodeId: string) => `${KEY_PREFIX}node:${nodeId}`;

/** How long a node waits for another node's answer beyond the device's own time. */
const ANSWER_SLACK_MS = 3_000;

type Last = { topic: string; payload: string };
type Request =
  | { op: 'send'; d: string; t: string; p: string; q: 0 | 1 }
  | { op: 'confirm'; id: string; from: string; d: string; t: string; p: string; ms: number }
  | { op: 'disconnect'; id: string; from: string; d: string; r: string; last?: Last }
  | { op: 'answer'; id: string; result?: unknown; error?: { code: string; message: string } };

export interface ClusterConnectionsOptions {
  /** This node's broker. */
  local: DeviceConnections;
  presence: Presence;
  link: RedisLink;
  clock: Clock;
  logger: Logger;
}

/** Answers awaited for one request. */
interface Waiting {
  answers: Array<Request & { op: 'answer' }>;
  /** How many answers complete it; unknown until PUBLISH says how many nodes heard the request. */
  expected: number | undefined;
  resolve: (answers: Array<Request & { op: 'answer' }>) => void;
  timer: TimerHandle;
}

export class ClusterConnections implements DeviceConnections, Part {
  readonly name = 'device-routing';
  readonly #options: ClusterConnectionsOptions;
  readonly #waiting = new Map<string, Waiting>();
  readonly #stops: Array<() => Promise<void> | void> = [];

  constructor(options: ClusterConnectionsOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { link, presence, local, logger } = this.#options;
    const handle = (message: Buffer) => this.#handle(JSON.parse(message.toString('utf8')) as Request);
    this.#stops.push(await link.subscribe(nodeChannel(presence.nodeId), handle));
    this.#stops.push(await link.subscribe(BROADCAST_CHANNEL, handle));
    this.#stops.push(
      presence.onMoved((deviceId, nodeId) => {
        if (!local.isConnected(deviceId)) return;
        logger.info({ deviceId, node: nodeId }, 'a connection on another node took over this token');
        void local.disconnect(deviceId, `taken over by a connection on node ${nodeId}`);
      }),
    );
  }

  async stop(): Promise<void> {
    for (const stop of this.#stops.splice(0).reverse()) await stop();
    for (const waiting of this.#waiting.values()) {
      this.#options.clock.clearTimeout(waiting.timer);
      waiting.resolve(waiting.answers);
    }
    this.#waiting.clear();
  }

  isConnected(deviceId: string): boolean {
    return this.#options.local.isConnected(deviceId) || this.#options.presence.isOnline(deviceId);
  }

  /**
   * For a device on another node, true means the command was handed to that node (the device was
   * online there a moment ago), not that it reached the device: that node checks the device's
   * receive buffer, and a command over it is dropped there and logged (PAYLOAD_TOO_LARGE) instead
   * of thrown here. Callers that must know use sendAndConfirm, which carries that node's answer.
   */
  sendToDevice(deviceId: string, deviceTopic: string, payload: string, qos: 0 | 1 = 0): boolean {
    const { local, presence, link } = this.#options;
    if (local.isConnected(deviceId)) return local.sendToDevice(deviceId, deviceTopic, payload, qos);
    const node = this.#remoteHolder(deviceId);
    if (!node) return false;
    link.publish(
      nodeChannel(node),
      JSON.stringify({ op: 'send', d: deviceId, t: deviceTopic, p: payload, q: qos }),
    );
    return presence.isOnline(deviceId);
  }

  async sendAndConfirm(
    deviceId: string,
    deviceTopic: string,
    payload: string,
    timeoutMs: number,
  ): Promise<DownlinkConfirmation> {
    const { local } = this.#options;
    if (local.isConnected(deviceId)) return local.sendAndConfirm(deviceId, deviceTopic, payload, timeoutMs);
    const node = this.#remoteHolder(deviceId);
    if (!node) return { online: false, acked: false };
    const [answer] = await this.#ask(
      nodeChannel(node),
      { op: 'confirm', d: deviceId, t: deviceTopic, p: payload, ms: timeoutMs },
      timeoutMs,
    );
    if (!answer) return { online: true, acked: false };
    if (answer.error) throw new TetherError(answer.error.code as never, answer.error.message);
    return (answer.result as DownlinkConfirmation | undefined) ?? { online: true, acked: false };
  }

  async disconnect(deviceId: string, reason: string, last?: Last): Promise<boolean> {
    const request = { op: 'disconnect' as const, d: deviceId, r: reason, ...(last ? { last } : {}) };
    // Every node hears it, ends the token there and answers; whoever held the device says so.
    const remote = this.#ask(BROADCAST_CHANNEL, request, 0);
    const here = await this.#options.local.disconnect(deviceId, reason, last);
    const answers = await remote;
    return here || answers.some((answer) => answer.result === true);
  }

  /** The node other than this one that holds the device, if any. */
  #remoteHolder(deviceId: string): string | undefined {
    const node = this.#options.presence.nodeOf(deviceId);
    return node !== undefined && node !== this.#options.presence.nodeId ? node : undefined;
  }

  /**
   * Publishes a request and resolves with the answers of every other node that heard it (one on
   * a node's own channel), or with those that came in time.
   */
  async #ask(
    channel: string,
    request: Record<string, unknown>,
    deviceMs: number,
  ): Promise<Array<Request & { op: 'answer' }>> {
    const { clock, link, presence, logger } = this.#options;
    const id = randomBytes(9).toString('base64url');
    let waiting: Waiting | undefined;
    const answered = new Promise<Array<Request & { op: 'answer' }>>((resolve) => {
      const timer = clock.setTimeout(() => {
        this.#waiting.delete(id);
        if (waiting?.expected !== undefined)
          logger.warn(
            { channel, op: request.op, expected: waiting.expected, answered: waiting.answers.length },
            'a gateway node did not answer in time',
          );
        resolve(waiting?.answers ?? []);
      }, deviceMs + ANSWER_SLACK_MS);
      waiting = { answers: [], expected: undefined, resolve, timer };
      this.#waiting.set(id, waiting);
    });
    const heardBy = await link.publishCounted(
      channel,
      JSON.stringify({ ...request, id, from: presence.nodeId }),
    );
    // This node hears its own broadcasts (and answers none of them).
    const current = waiting as Waiting;
    current.expected = channel === BROADCAST_CHANNEL ? heardBy - 1 : Math.min(heardBy, 1);
    this.#settle(id, current);
    return answered;
  }

  /** Resolves a request once every answer it expects is in. */
  #settle(id: string, waiting: Waiting): void {
    if (waiting.expected === undefined || waiting.answers.length < waiting.expected) return;
    this.#waiting.delete(id);
    this.#options.clock.clearTimeout(waiting.timer);
    waiting.resolve(waiting.answers);
  }

  #answer(
    to: string,
    id: string,
    answer: { result?: unknown; error?: { code: string; message: string } },
  ): void {
    this.#options.link.publish(nodeChannel(to), JSON.stringify({ op: 'answer', id, ...answer }));
  }

  #handle(request: Request): void {
    const { local, presence } = this.#options;
    switch (request?.op) {
      case 'send':
        if (typeof request.d !== 'string' || typeof request.t !== 'string' || typeof request.p !== 'string')
          return;
        try {
          local.sendToDevice(request.d, request.t, request.p, request.q === 1 ? 1 : 0);
        } catch (error) {
          // Over the device's receive buffer (PAYLOAD_TOO_LARGE): the sender already answered, so
          // say here which device refused what.
          this.#options.logger.warn(
            { deviceId: request.d, topic: request.t, code: (error as TetherError).code ?? 'INTERNAL' },
            'a command routed from another node was not sent to the device',
          );
        }
        return;
      case 'confirm':
        if (typeof request.d !== 'string' || typeof request.from !== 'string') return;
        local.sendAndConfirm(request.d, request.t, request.p, Math.min(Number(request.ms) || 0, 60_000)).then(
          (result) => this.#answer(request.from, request.id, { result }),
          (error: unknown) =>
            this.#answer(request.from, request.id, {
              error: { code: (error as TetherError).code ?? 'INTERNAL', message: (error as Error).message },
            }),
        );
        return;
      case 'disconnect': {
        // This node's own request: it runs its own part directly.
        if (typeof request.d !== 'string' || request.from === presence.nodeId) return;
        const last = request.last && typeof request.last.topic === 'string' ? request.last : undefined;
        void local.disconnect(request.d, String(request.r), last).then(
          (dropped) => this.#answer(request.from, request.id, { result: dropped }),
          () => this.#answer(request.from, request.id, { result: false }),
        );
        return;
      }
      case 'answer': {
        const waiting = this.#waiting.get(request.id);
        if (!waiting) return;
        waiting.answers.push(request);
        this.#settle(request.id, waiting);
        return;
      }
    }
  }
}
