/** Templates (products): minimal for now — id, name, datastreams, hotspot prefix, minimum security. */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { newTemplateId } from '../../shared/ids.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import type { PlanLimits } from '../accounts/plan-limits.js';
import { can } from '../accounts/policy.js';
import type { Auditor } from '../audit.js';
import type { Store } from '../store/store.js';
import type { Datastream, EventDefinition, Template } from '../store/types.js';
import { parseDatastreamValue } from './datastream-values.js';
import { checkEventDefinitions } from './device-events.js';
import { normalizePins } from './virtual-pins.js';

export interface TemplateInput {
  name: string;
  datastreams?: Datastream[];
  hotspotPrefix?: string;
  minSecurity?: 0 | 1 | 2;
  events?: EventDefinition[];
}

export class TemplateService {
  constructor(private readonly deps: { store: Store; clock: Clock; auditor: Auditor; plans: PlanLimits }) {}

  async create(actor: AuthenticatedActor, input: TemplateInput, ip: string | null = null): Promise<Template> {
    if (!can(actor, 'templates.edit', { orgId: actor.orgId })) {
      throw new TetherError('PERMISSION_DENIED', 'You may not create templates.');
    }
    const datastreams = normalizePins(input.datastreams ?? []);
    checkDatastreams(datastreams);
    checkEventDefinitions(input.events ?? []);
    const template: Template = {
      id: newTemplateId(),
      orgId: actor.orgId,
      name: input.name,
      datastreams,
      hotspotPrefix: input.hotspotPrefix ?? 'Tether',
      minSecurity: input.minSecurity ?? 2,
      ...(input.events ? { events: input.events } : {}),
      createdAt: this.deps.clock.now(),
    };
    await this.deps.store.transaction(async (tx) => {
      await this.deps.plans.assertWithin(actor.orgId, 'templates', 1, tx);
      await tx.templates.insert(template);
    });
    await this.deps.auditor.record({
      actor: actor.userId,
      action: 'template.created',
      targetType: 'template',
      targetId: template.id,
      orgId: template.orgId,
      ip,
    });
    return template;
  }

  /** Edit name, datastreams, hotspot prefix or minimum security; only in an org the actor edits. */
  async update(
    actor: AuthenticatedActor,
    id: string,
    patch: Partial<TemplateInput>,
    ip: string | null = null,
  ): Promise<Template> {
    const template = await this.getUsable(actor, id);
    if (!can(actor, 'templates.edit', { orgId: template.orgId })) {
      throw new TetherError('PERMISSION_DENIED', 'You may not edit this template.');
    }
    const datastreams = patch.datastreams && normalizePins(patch.datastreams);
    if (datastreams) checkDatastreams(datastreams);
    if (patch.events) checkEventDefinitions(patch.events);
    const changes: Partial<Template> = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (datastreams !== undefined) changes.datastreams = datastreams;
    if (patch.hotspotPrefix !== undefined) changes.hotspotPrefix = patch.hotspotPrefix;
    if (patch.minSecurity !== undefined) changes.minSecurity = patch.minSecurity;
    if (patch.events !== undefined) changes.events = patch.events;
    const updated = await this.deps.store.templates.update(id, changes);
    await this.deps.auditor.record({
      actor: actor.userId,
      action: 'template.updated',
      targetType: 'template',
      targetId: id,
      orgId: template.orgId,
      ip,
      details: { fields: Object.keys(changes) },
    });
    return updated;
  }

  /**
   * Templates the actor may use: those of its org, of orgs above it (the maker's), and below it,
   * oldest first.
   */
  async listUsable(actor: AuthenticatedActor): Promise<Template[]> {
    if (!can(actor, 'templates.view')) return [];
    return this.deps.store.templates.find(
      { orgId: { in: await this.#usableOrgIds(actor) } },
      { orderBy: { field: 'createdAt' } },
    );
  }

  async getUsable(actor: AuthenticatedActor, id: string): Promise<Template> {
    const template = await this.deps.store.templates.get(id);
    if (
      !template ||
      !can(actor, 'templates.view') ||
      !(await this.#usableOrgIds(actor)).includes(template.orgId)
    ) {
      throw new TetherError(
        'TEMPLATE_NOT_FOUND',
        `Template ${id} does not exist or is not available to you.`,
      );
    }
    return template;
  }

  /** The actor's subtree and the orgs above it. */
  async #usableOrgIds(actor: AuthenticatedActor): Promise<string[]> {
    const above = (await this.deps.store.orgs.ancestors(actor.orgId)).map((o) => o.id);
    return [...new Set([...actor.visibleOrgIds, ...above])];
  }
}

function checkDatastreams(datastreams: readonly Datastream[]): void {
  const names = new Set<string>();
  for (const ds of datastreams) {
    if (names.has(ds.name))
      throw new TetherError('VALIDATION_FAILED', `Datastream ${ds.name} appears twice.`);
    names.add(ds.name);
    if (ds.min !== undefined && ds.max !== undefined && ds.min > ds.max) {
      throw new TetherError('VALIDATION_FAILED', `Datastream ${ds.name}: min is above max.`);
    }
    if (ds.type === 'enum' && !ds.values?.length) {
      throw new TetherError('VALIDATION_FAILED', `Datastream ${ds.name}: an enum needs values.`);
    }
    // The default must be a value the datastream itself would accept (type, range, enum).
    if (ds.defaultValue !== undefined) parseDatastreamValue(ds, String(ds.defaultValue));
  }
}
