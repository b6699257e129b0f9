/**
 * DeviceConnections for a node of a cluster: a device connected here is reached through this
 * node's broker; one connected elsewhere through the node that holds it (presence says which),
 * over that node's own channel, `tether:node:<id>`. Nothing else crosses Redis: device uplinks
 * never leave the node that received them, and a downlink is one PUBLISH to one node.
 *
 * - disconnect (a revoked, re-provisioned or deleted token) goes to every node, on
 *   `tether:connections`: each one drops the device and voids the connections that authenticated
 *   with the old token but are not ready yet; the caller hears the answer of the node that held it.
 * - a takeover: the node that loses a device to another node (presence.onMoved) closes its session.
 */
import { randomBytes } from 'node:crypto';
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
  | { op: 'disconnect'; id: string; from: string; h?: string; d: string; r: string; last?: Last }
  | { op: 'answer'; id: string; result?: unknown; error?: { code: string; message: string } };

export interface ClusterConnectionsOptions {
  /** This node's broker. */
  local: DeviceConnections;
  presence: Presence;
  link: RedisLink;
  logger: Logger;
}

export class ClusterConnections implements DeviceConnections, Part {
  readonly name = 'device-routing';
  readonly #options: ClusterConnectionsOptions;
  readonly #waiting = new Map<
    string,
    { resolve: (answer: Request & { op: 'answer' }) => void; timer: NodeJS.Timeout }
  >();
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
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.resolve({ op: 'answer', id });
    }
    this.#waiting.clear();
  }

  isConnected(deviceId: string): boolean {
    return this.#options.local.isConnected(deviceId) || this.#options.presence.isOnline(deviceId);
  }

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
    const answer = await this.#ask(
      nodeChannel(node),
      { op: 'confirm', d: deviceId, t: deviceTopic, p: payload, ms: timeoutMs },
      timeoutMs,
    );
    if (answer.error) throw new TetherError(answer.error.code as never, answer.error.message);
    return (answer.result as DownlinkConfirmation | undefined) ?? { online: true, acked: false };
  }

  async disconnect(deviceId: string, reason: string, last?: Last): Promise<boolean> {
    const holder = this.#remoteHolder(deviceId);
    const request = {
      op: 'disconnect' as const,
      d: deviceId,
      r: reason,
      ...(holder ? { h: holder } : {}),
      ...(last ? { last } : {}),
    };
    // Every node hears it (and voids the token's connections in flight); the holder answers.
    const remote = this.#ask(BROADCAST_CHANNEL, request, 0, holder !== undefined);
    const here = await this.#options.local.disconnect(deviceId, reason, last);
    const answer = await remote;
    return here || answer.result === true;
  }

  /** The node other than this one that holds the device, if any. */
  #remoteHolder(deviceId: string): string | undefined {
    const node = this.#options.presence.nodeOf(deviceId);
    return node !== undefined && node !== this.#options.presence.nodeId ? node : undefined;
  }

  /** Publishes a request; with `wait`, resolves with the answer (or an empty one when none comes in time). */
  #ask(
    channel: string,
    request: Record<string, unknown>,
    deviceMs: number,
    wait = true,
  ): Promise<Request & { op: 'answer' }> {
    const id = randomBytes(9).toString('base64url');
    const from = this.#options.presence.nodeId;
    const answered = new Promise<Request & { op: 'answer' }>((resolve) => {
      if (!wait) return resolve({ op: 'answer', id });
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve({ op: 'answer', id });
      }, deviceMs + ANSWER_SLACK_MS);
      this.#waiting.set(id, { resolve, timer });
    });
    this.#options.link.publish(channel, JSON.stringify({ ...request, id, from }));
    return answered;
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
        if (typeof request.d === 'string' && typeof request.t === 'string' && typeof request.p === 'string')
          local.sendToDevice(request.d, request.t, request.p, request.q === 1 ? 1 : 0);
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
        void local.disconnect(request.d, String(request.r), last).then((dropped) => {
          if (dropped || request.h === presence.nodeId)
            this.#answer(request.from, request.id, { result: dropped });
        });
        return;
      }
      case 'answer': {
        const waiting = this.#waiting.get(request.id);
        if (!waiting) return;
        this.#waiting.delete(request.id);
        clearTimeout(waiting.timer);
        waiting.resolve(request);
        return;
      }
    }
  }
}
