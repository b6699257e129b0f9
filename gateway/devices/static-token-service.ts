/**
 * Static tokens (as Blynk): a maker mints devices of a template into its org's pool, each with a
 * device token (flashed into firmware) and a separate single-use claim code (the QR text on the
 * box). Both are shown once, at mint, and stored only as SHA-256 hashes. An unclaimed device may
 * connect and sits `unclaimed` in the maker's org; a user claims it with the code, and it moves to
 * the user's org, owned by them. The maker may disclaim it back into the pool, or revoke its token.
 */
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import type { FailureLimiter, FailureLimiterFactory } from '../../shared/failure-limiter.js';
import { newDeviceToken, newId, randomAlphanumeric, sha256Hex } from '../../shared/ids.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import type { PlanLimits } from '../accounts/plan-limits.js';
import { can, canViewDevice } from '../accounts/policy.js';
import type { Auditor } from '../audit.js';
import type { EventBus } from '../events.js';
import { pages } from '../store/paging.js';
import type { Store } from '../store/store.js';
import type { Device } from '../store/types.js';
import type { DeviceConnections } from './device-connections.js';
import type { RequestContext } from './device-lifecycle-service.js';
import type { DeviceService } from './device-service.js';
import type { TemplateService } from './template-service.js';

/** 20 characters of [A-Z0-9]: ≈103 bits, far beyond guessing even without the rate limit. */
const CLAIM_CODE_LENGTH = 20;
/** One request mints at most this many; the CLI mints larger batches request by request. */
export const MAX_MINT_PER_REQUEST = 500;

export interface MintedDevice {
  deviceId: string;
  name: string;
  templateId: string;
  /** Flashed into the firmware: MQTT password. Shown once. */
  token: string;
  /** Printed on the box as text and QR. Shown once. */
  claimCode: string;
}

/**
 * What the maker sees of a pool device someone claimed out of the maker's sight: that it was
 * claimed, and when. Its owner, org, values and metadata are the claimer's; the maker can still
 * disclaim or revoke it by id.
 */
export interface ClaimedPoolRow {
  id: string;
  name: string;
  templateId: string;
  claimed: true;
  claimedAt: number;
  revoked: boolean;
}

/**
 * The claimed-row view of a static-token device for this actor, or undefined where the actor may
 * see the device itself (still in the pool, or claimed inside the actor's own subtree): the pool
 * never shows more than the device routes would.
 */
export function claimedPoolRow(actor: AuthenticatedActor, device: Device): ClaimedPoolRow | undefined {
  // A claim activates the device; a disclaim clears activatedAt along with the claimer's data.
  if (device.activatedAt === null || canViewDevice(actor, device)) return undefined;
  return {
    id: device.id,
    name: device.name,
    templateId: device.templateId,
    claimed: true,
    claimedAt: device.activatedAt,
    revoked: device.status === 'revoked',
  };
}

/** A claim code as people see it: groups of four, e.g. `ABCD-EFGH-JKLM-NPQR-STUV`. */
export const formatClaimCode = (code: string): string => code.match(/.{1,4}/g)?.join('-') ?? code;

/** Dashes, spaces and case do not matter when a person types the code. */
export const normalizeClaimCode = (input: string): string => input.replace(/[\s-]/g, '').toUpperCase();

export class StaticTokenService {
  readonly #limiter: FailureLimiter;

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: TetherConfig;
      events: EventBus;
      auditor: Auditor;
      devices: DeviceService;
      templates: TemplateService;
      connections: DeviceConnections;
      plans: PlanLimits;
      limiters: FailureLimiterFactory;
    },
  ) {
    const { devices } = deps.config;
    // A success never clears the count, so one valid code bought in a shop cannot reset a guesser's budget.
    this.#limiter = deps.limiters('claim', {
      maxFailures: devices.claimMaxFailures,
      blockMs: devices.claimBlockMinutes * 60_000,
      message: (minutes) =>
        `Too many wrong claim codes. Check the code on the label and try again in ${minutes} minute(s).`,
    });
  }

  async mint(
    actor: AuthenticatedActor,
    input: { templateId: string; count: number; namePrefix?: string; orgId?: string },
    ctx: RequestContext,
  ): Promise<MintedDevice[]> {
    const { store, clock, auditor } = this.deps;
    const orgId = input.orgId ?? actor.orgId;
    if (!can(actor, 'static-tokens.manage', { orgId })) {
      throw new TetherError('PERMISSION_DENIED', 'You may not manage static tokens in this organization.');
    }
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > MAX_MINT_PER_REQUEST) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Mint between 1 and ${MAX_MINT_PER_REQUEST} devices at a time.`,
      );
    }
    const template = await this.deps.templates.getUsable(actor, input.templateId);
    const prefix = input.namePrefix ?? template.name;
    const batchId = newId('mint');
    const now = clock.now();
    const out: MintedDevice[] = [];
    await store.transaction(async (tx) => {
      out.length = 0;
      await this.deps.plans.assertWithin(orgId, 'devices', input.count, tx);
      // Number on from the highest "<prefix> NNNN" of this pool, so names stay unique after deletions.
      let existing = 0;
      const named = {
        makerOrgId: orgId,
        templateId: template.id,
        name: { gte: `${prefix} `, lt: `${prefix}!` },
      };
      for await (const page of pages(tx.devices, named)) {
        for (const d of page) {
          const n = Number(d.name.slice(prefix.length + 1));
          if (Number.isInteger(n) && n > existing) existing = n;
        }
      }
      const devices: Device[] = [];
      for (let i = 0; i < input.count; i++) {
        const token = newDeviceToken();
        const claimCode = randomAlphanumeric(CLAIM_CODE_LENGTH);
        const device: Device = {
          id: newId('dev'),
          orgId,
          ownerId: null,
          templateId: template.id,
          name: `${prefix} ${String(existing + i + 1).padStart(4, '0')}`,
          tokenHash: sha256Hex(token),
          status: 'unclaimed',
          provisioningExpiresAt: null,
          createdBy: null,
          createdAt: now,
          activatedAt: null,
          activatedBy: null,
          hardwareId: null,
          firmware: null,
          lastSeenAt: null,
          values: {},
          claimCodeHash: sha256Hex(claimCode),
          makerOrgId: orgId,
        };
        devices.push(device);
        out.push({
          deviceId: device.id,
          name: device.name,
          templateId: template.id,
          token,
          claimCode: formatClaimCode(claimCode),
        });
      }
      await tx.devices.insertMany(devices);
    });
    // One audit event per batch: a mint of thousands is one decision by one person.
    await auditor.record({
      actor: actor.userId,
      action: 'static-tokens.minted',
      targetType: 'template',
      targetId: template.id,
      orgId,
      ip: ctx.ip,
      details: { batchId, count: out.length, deviceIds: out.map((d) => d.deviceId) },
    });
    return out;
  }

  /** The maker's pool: static-token devices minted into orgs the actor manages, in mint order. */
  async listPool(actor: AuthenticatedActor, filter: { templateId?: string } = {}): Promise<Device[]> {
    // static-tokens.manage reaches exactly the actor's subtree (policy.can).
    if (!can(actor, 'static-tokens.manage')) return [];
    return this.deps.store.devices.find(
      {
        makerOrgId: { in: [...actor.visibleOrgIds] },
        ...(filter.templateId ? { templateId: filter.templateId } : {}),
      },
      { orderBy: [{ field: 'createdAt' }, { field: 'name' }] },
    );
  }

  /**
   * Claim by code: the device moves to the claimer's org, owned by the claimer, and the code is
   * spent. Unknown and spent codes get the same answer; wrong codes count against the limiter.
   */
  async claim(
    actor: AuthenticatedActor,
    input: { claimCode: string; name?: string },
    ctx: RequestContext,
  ): Promise<Device> {
    const { store, clock, events, auditor } = this.deps;
    const keys = [`user:${actor.userId}`, ...(ctx.ip ? [`ip:${ctx.ip}`] : [])];
    await this.#limiter.check(keys);
    if (!can(actor, 'devices.provision', { orgId: actor.orgId })) {
      throw new TetherError('PERMISSION_DENIED', 'You may not add devices. Ask your administrator.');
    }
    const code = normalizeClaimCode(input.claimCode);
    // The code is spent and the plan checked in the transaction that moves the device: two
    // claims of one code, or of the tree's last free place, cannot both succeed.
    const outcome = await store.transaction(async (tx) => {
      const device =
        code.length === CLAIM_CODE_LENGTH ? await tx.devices.byClaimCodeHash(sha256Hex(code)) : undefined;
      if (device?.status !== 'unclaimed') return undefined;
      // Claimed into another plan's scope (another tenant), the device counts against that plan.
      await this.deps.plans.assertWithin(actor.orgId, 'devices', 1, tx, device.orgId);
      const now = clock.now();
      const claimed = await tx.devices.update(device.id, {
        orgId: actor.orgId,
        ownerId: actor.userId,
        status: 'active',
        claimCodeHash: null,
        activatedAt: now,
        activatedBy: actor.userId,
        ...(input.name ? { name: input.name } : {}),
      });
      return { device, claimed };
    });
    if (!outcome) {
      await this.#limiter.fail(keys);
      throw new TetherError(
        'CLAIM_CODE_INVALID',
        'This claim code is unknown or was already used. Check the code on the label.',
      );
    }
    const { device, claimed } = outcome;
    await auditor.record({
      actor: actor.userId,
      action: 'device.claimed',
      targetType: 'device',
      targetId: device.id,
      orgId: claimed.orgId,
      ip: ctx.ip,
      details: { fromOrgId: device.orgId, makerOrgId: device.makerOrgId },
    });
    events.emit('device.changed', { device: claimed });
    return claimed;
  }

  /**
   * Maker only: back into the pool, unowned, its data cleared (the next owner must not see the
   * last one's values), with a fresh claim code (the old one was spent).
   */
  async disclaim(
    actor: AuthenticatedActor,
    deviceId: string,
    ctx: RequestContext,
  ): Promise<{ device: Device; claimCode: string }> {
    const { store, events, auditor } = this.deps;
    const device = await this.#managed(actor, deviceId);
    if (device.status === 'revoked') throw new TetherError('CONFLICT', 'This static token was revoked.');
    if (device.status === 'unclaimed') throw new TetherError('CONFLICT', 'This device is not claimed.');
    const claimCode = randomAlphanumeric(CLAIM_CODE_LENGTH);
    const updated = await store.devices.update(device.id, {
      orgId: device.makerOrgId ?? device.orgId,
      ownerId: null,
      status: 'unclaimed',
      claimCodeHash: sha256Hex(claimCode),
      activatedAt: null,
      activatedBy: null,
      values: {},
      meta: {},
      props: {},
    });
    await auditor.record({
      actor: actor.userId,
      action: 'device.disclaimed',
      targetType: 'device',
      targetId: device.id,
      orgId: updated.orgId,
      ip: ctx.ip,
      details: { fromOrgId: device.orgId, fromOwnerId: device.ownerId },
    });
    events.emit('device.changed', { device: updated });
    return { device: updated, claimCode: formatClaimCode(claimCode) };
  }

  /** Delete the static token: the device token is revoked, a live connection dropped. */
  async revoke(actor: AuthenticatedActor, deviceId: string, ctx: RequestContext): Promise<Device> {
    const { store, events, auditor, connections } = this.deps;
    const device = await this.#managed(actor, deviceId);
    if (device.status === 'revoked')
      throw new TetherError('CONFLICT', 'This static token is already revoked.');
    // The hash stays (unique index) but the status refuses it on every CONNECT from now on.
    const updated = await store.devices.update(device.id, { status: 'revoked', claimCodeHash: null });
    const wasOnline = await connections.disconnect(device.id, 'static token revoked');
    await auditor.record({
      actor: actor.userId,
      action: 'static-token.revoked',
      targetType: 'device',
      targetId: device.id,
      orgId: device.orgId,
      ip: ctx.ip,
      details: { wasOnline },
    });
    events.emit('device.changed', { device: updated });
    return updated;
  }

  /** A static-token device whose maker org the actor manages; NOT_FOUND otherwise. */
  async #managed(actor: AuthenticatedActor, deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    const maker = device?.makerOrgId;
    if (!device || !maker || !actor.visibleOrgIds.has(maker)) {
      throw new TetherError(
        'DEVICE_NOT_FOUND',
        `Static-token device ${deviceId} does not exist or is not yours.`,
      );
    }
    if (!can(actor, 'static-tokens.manage', { orgId: maker })) {
      throw new TetherError('PERMISSION_DENIED', 'Only the maker may manage this static token.');
    }
    return device;
  }
}
