/**
 * Dynamic activation: a provisioning session creates a pending device owned by the caller with a
 * fresh token and a deadline; the device activates itself by connecting with that token and
 * naming its template (DeviceService.handleInfoMcu). The companion is told the outcome at once.
 */

import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import { newDeviceToken, newId, sha256Hex } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { ProvisioningSessionInfo } from '../../shared/provisioning-session.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import type { PlanLimits } from '../accounts/plan-limits.js';
import { can, canManageDevice, canViewDevice } from '../accounts/policy.js';
import type { Auditor } from '../audit.js';
import type { EventBus } from '../events.js';
import type { Store, StoreTables } from '../store/store.js';
import type { Device } from '../store/types.js';
import type { DeviceConnections } from './device-connections.js';
import type { DeviceService } from './device-service.js';
import type { TemplateService } from './template-service.js';

/** How long an expired session's pending device is kept so a companion can still learn the outcome. */
export const ABANDONED_GRACE_MS = 60 * 60_000;
/** How often the gateway sweeps abandoned pending devices out of every org. */
export const SWEEP_EVERY_MS = 5 * 60_000;
/** Pending devices removed per store call while sweeping: a backlog goes in bounded steps. */
const SWEEP_BATCH = 500;

/** What a new session answers, as the companions read it (shared/provisioning-session.ts). */
export type ProvisioningSession = ProvisioningSessionInfo;

export type SessionOutcome =
  | { state: 'waiting'; expiresAt: number }
  | { state: 'active'; device: Device }
  | { state: 'failed'; code: string; message: string }
  | { state: 'expired'; code: 'PROVISIONING_EXPIRED'; message: string };

export class ProvisioningService {
  /** A gateway part: start() begins the periodic sweep of abandoned pending devices. */
  readonly name = 'provisioning-sweep';
  #sweepTimer: TimerHandle | undefined;
  #sweeping: Promise<unknown> | undefined;
  /** Open watches by device id (the companions' push streams). */
  readonly #watchers = new Map<string, Set<(o: SessionOutcome) => void>>();
  #unlisten: Array<() => void> = [];

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      logger?: Logger;
      config: TetherConfig;
      events: EventBus;
      auditor: Auditor;
      devices: DeviceService;
      templates: TemplateService;
      plans: PlanLimits;
      connections: DeviceConnections;
    },
  ) {}

  /**
   * Sweeps every org, not only the org of whoever next opens a session: in a quiet org an
   * abandoned pending device would otherwise keep its live token (and its place) forever.
   */
  async start(): Promise<void> {
    const { clock } = this.deps;
    this.#sweepTimer = clock.setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweepAbandoned()
        .catch((error: unknown) =>
          this.deps.logger?.warn({ err: error }, 'sweeping abandoned provisioning sessions failed'),
        )
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, SWEEP_EVERY_MS);
  }

  async stop(): Promise<void> {
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    this.deps.clock.clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await this.#sweeping;
  }

  /**
   * Removes, in every org, the pending devices of sessions that expired more than the grace ago
   * (their tokens die with them; a connection that still holds one is dropped). Returns how many.
   */
  async sweepAbandoned(): Promise<number> {
    const { store, clock, connections } = this.deps;
    const where = {
      status: 'pending' as const,
      provisioningExpiresAt: { lt: clock.now() - ABANDONED_GRACE_MS },
    };
    let removed = 0;
    for (;;) {
      const batch = await store.devices.find(where, { limit: SWEEP_BATCH });
      if (batch.length === 0) break;
      const ids = batch.map((d) => d.id);
      removed += await store.devices.deleteWhere({ ...where, id: { in: ids } });
      for (const id of ids) await connections.disconnect(id, 'provisioning session abandoned');
      if (batch.length < SWEEP_BATCH) break;
    }
    if (removed > 0) this.deps.logger?.info({ removed }, 'removed abandoned pending devices');
    return removed;
  }

  async createSession(
    actor: AuthenticatedActor,
    input: { templateId: string; name?: string },
    context: { brokerUrl: string; ip: string | null },
  ): Promise<ProvisioningSession> {
    const { store, clock, config, auditor, templates } = this.deps;
    if (!can(actor, 'devices.provision', { orgId: actor.orgId })) {
      throw new TetherError(
        'PERMISSION_DENIED',
        'You may not provision devices. Ask your administrator for the provision permission.',
      );
    }
    const template = await templates.getUsable(actor, input.templateId);
    const now = clock.now();
    const token = newDeviceToken();
    const expiresAt = now + config.provisioning.sessionTtlSeconds * 1000;
    const device: Device = {
      id: newId('dev'),
      orgId: actor.orgId,
      ownerId: actor.userId,
      templateId: template.id,
      name: input.name ?? `${template.name} ${new Date(now).toISOString().slice(0, 16).replace('T', ' ')}`,
      tokenHash: sha256Hex(token),
      status: 'pending',
      provisioningExpiresAt: expiresAt,
      createdBy: actor.userId,
      createdAt: now,
      activatedAt: null,
      activatedBy: null,
      hardwareId: null,
      firmware: null,
      lastSeenAt: null,
      values: {},
    };
    // The pending device and its audit event commit together: one fsync for the session.
    await store.transaction(async (tx) => {
      await this.#purgeAbandoned(tx, actor.orgId, now);
      await this.deps.plans.assertWithin(actor.orgId, 'devices', 1, tx);
      await tx.devices.insert(device);
      await auditor.record(
        {
          actor: actor.userId,
          action: 'provisioning.started',
          targetType: 'device',
          targetId: device.id,
          orgId: device.orgId,
          ip: context.ip,
          details: { templateId: template.id },
        },
        tx,
      );
    });
    return {
      deviceId: device.id,
      templateId: template.id,
      token,
      brokerUrl: context.brokerUrl,
      expiresAt,
      minSecurity: template.minSecurity,
    };
  }

  /** The session's state now, for a companion that asks (and as the first event of a watch). */
  async outcome(actor: AuthenticatedActor, deviceId: string): Promise<SessionOutcome> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device || !canViewDevice(actor, device) || device.createdBy === null) {
      throw new TetherError('NOT_FOUND', `Provisioning session ${deviceId} does not exist or is not yours.`);
    }
    return this.#outcomeOf(device);
  }

  /**
   * Cancel a session that has not activated yet: the pending device and its token go at once (a
   * companion that gave up leaves nothing behind to count against the plan or to connect later).
   */
  async cancel(actor: AuthenticatedActor, deviceId: string, ip: string | null = null): Promise<void> {
    const { store, auditor, connections } = this.deps;
    const device = await store.devices.get(deviceId);
    if (!device || !canViewDevice(actor, device) || device.createdBy === null) {
      throw new TetherError('NOT_FOUND', `Provisioning session ${deviceId} does not exist or is not yours.`);
    }
    if (!canManageDevice(actor, device, 'devices.provision')) {
      throw new TetherError('PERMISSION_DENIED', 'You may not provision devices.');
    }
    if (device.status !== 'pending') {
      throw new TetherError('CONFLICT', 'The device is already activated: delete it instead.');
    }
    await store.devices.delete(device.id);
    await connections.disconnect(device.id, 'provisioning session cancelled');
    await auditor.record({
      actor: actor.userId,
      action: 'provisioning.cancelled',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip,
    });
  }

  /**
   * Calls `listener` with the current outcome and then with every change until a final one
   * (active, failed, expired). Returns a function that stops watching; also stops by itself.
   * Fails, having called nothing, when the session is unknown or not the actor's to see.
   */
  async watch(
    actor: AuthenticatedActor,
    deviceId: string,
    listener: (o: SessionOutcome) => void,
  ): Promise<() => void> {
    const { clock } = this.deps;
    // Subscribe, then read: an outcome that lands while the state is read is kept, not lost.
    let first: SessionOutcome | undefined;
    let arrived: SessionOutcome | undefined;
    let stopped = false;
    let timer: TimerHandle | undefined;
    const watcher = (o: SessionOutcome) => {
      if (!first) arrived ??= o;
      else deliver(o);
    };
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clock.clearTimeout(timer);
      const watchers = this.#watchers.get(deviceId);
      watchers?.delete(watcher);
      if (watchers?.size === 0) this.#watchers.delete(deviceId);
    };
    const deliver = (o: SessionOutcome) => {
      if (stopped) return;
      if (o.state !== 'waiting') stop();
      listener(o);
    };
    this.#listen();
    const watchers = this.#watchers.get(deviceId) ?? new Set();
    this.#watchers.set(deviceId, watchers.add(watcher));
    try {
      first = await this.outcome(actor, deviceId);
    } catch (error) {
      stop();
      throw error;
    }
    deliver(first.state === 'waiting' && arrived ? arrived : first);
    if (!stopped && first.state === 'waiting') {
      timer = clock.setTimeout(
        () => {
          void this.outcome(actor, deviceId).then(deliver, stop);
        },
        Math.max(0, first.expiresAt - clock.now()) + 1,
      );
    }
    return stop;
  }

  /**
   * One subscription to the activation events for all watchers, each found by its device: an
   * activation costs a map lookup, not a call per open stream.
   */
  #listen(): void {
    if (this.#unlisten.length > 0) return;
    const { events } = this.deps;
    this.#unlisten.push(
      events.on('device.activated', ({ device }) => this.#notify(device.id, { state: 'active', device })),
      events.on('device.activation-failed', (f) =>
        this.#notify(
          f.deviceId,
          f.code === 'PROVISIONING_EXPIRED'
            ? { state: 'expired', code: 'PROVISIONING_EXPIRED', message: f.message }
            : { state: 'failed', code: f.code, message: f.message },
        ),
      ),
    );
  }

  /** Each watcher fails alone: one stream's failure does not keep the outcome from the others. */
  #notify(deviceId: string, outcome: SessionOutcome): void {
    const watchers = this.#watchers.get(deviceId);
    if (!watchers) return;
    for (const watcher of [...watchers]) {
      try {
        watcher(outcome);
      } catch (error) {
        this.deps.logger?.error({ err: error, deviceId }, 'a provisioning watcher failed');
      }
    }
  }

  /**
   * Sessions that expired long ago left pending devices that were never activated and hold no
   * data; they would count against the plan's device limit forever. A companion asking about one
   * within the grace period still hears "expired".
   */
  async #purgeAbandoned(tables: StoreTables, orgId: string, now: number): Promise<void> {
    await tables.devices.deleteWhere({
      orgId,
      status: 'pending',
      provisioningExpiresAt: { lt: now - ABANDONED_GRACE_MS },
    });
  }

  #outcomeOf(device: Device): SessionOutcome {
    if (device.status === 'active') return { state: 'active', device };
    const failure = this.deps.devices.lastFailure(device.id);
    if (failure && failure.code !== 'PROVISIONING_EXPIRED') return { state: 'failed', ...failure };
    const expiresAt = device.provisioningExpiresAt ?? 0;
    if (device.status !== 'pending' || expiresAt <= this.deps.clock.now()) {
      return {
        state: 'expired',
        code: 'PROVISIONING_EXPIRED',
        message: 'The provisioning session expired before the device connected. Start a new one.',
      };
    }
    return { state: 'waiting', expiresAt };
  }
}
