/**
 * One limit of the organization's plan, where it applies: "3 of 5 devices on the free plan", with a
 * meter, and a warning once the limit is reached. Shown to people who may view the organization
 * (the gateway's usage route asks for org.view); others see nothing extra and meet the limit, if
 * ever, as the API's PLAN_LIMIT error.
 */
import { api } from '../api.js';
import { can, me } from '../session.js';
import { useLoad } from './hooks.js';

export type PlanLimitName = 'users' | 'devices' | 'subOrgs' | 'templates';

export interface PlanUsage {
  orgId: string;
  plan: string;
  limits: Record<PlanLimitName, { used: number; max: number }>;
  features: Record<string, boolean>;
}

const NOUNS: Record<PlanLimitName, string> = {
  users: 'people',
  devices: 'devices',
  subOrgs: 'sub-organizations',
  templates: 'products',
};

/** Limits this high are the operator's "unlimited" (the enterprise plan): nothing to show for those. */
const UNLIMITED = 1_000_000;

/** `changes`: anything that may have moved the count (a list's length), to read the usage again. */
export function PlanUsageNote(props: { limit: PlanLimitName; changes?: unknown }) {
  const orgId = me.value?.org?.id;
  const allowed = !!orgId && can('org.view');
  const usage = useLoad(
    (signal) =>
      allowed
        ? api.get<PlanUsage>(`/api/orgs/${encodeURIComponent(orgId)}/usage`, signal)
        : Promise.resolve(undefined),
    [orgId, allowed, props.changes],
  );
  const data = usage.data;
  if (!data) return null;
  const { used, max } = data.limits[props.limit];
  const noun = NOUNS[props.limit];
  if (max >= UNLIMITED) return null;
  const full = used >= max;
  return (
    <p class={`plan-usage${full ? ' plan-usage-full' : ''}`} data-limit={props.limit}>
      <span>
        {used} of {max} {noun} on the {data.plan} plan
        {full ? ': the limit is reached. Upgrade the plan or remove some first.' : ''}
      </span>
      <meter
        min={0}
        max={max}
        value={used}
        high={Math.max(0, max - 1)}
        aria-label={`${noun} used of the plan`}
      />
    </p>
  );
}
