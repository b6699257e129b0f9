/**
 * The organization tree: sub-organizations, and who may sign up to each maker org. Each page
 * appears only for the permission the gateway requires for it, and the gateway decides every
 * request.
 */
import { useState } from 'preact/hooks';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type { OrgView } from '../api-types.js';
import { can, me } from '../session.js';
import { Badge, Button, ErrorNotice, Field, Form, Loading, Notice, Page, Select } from '../ui/components.js';
import { useAction } from '../ui/hooks.js';
import { PlanUsageNote } from '../ui/plan-usage.js';
import { USER_TYPES, useOrgs, useRoles } from './org-data.js';

export function OrgsPage() {
  const orgs = useOrgs();
  const [name, setName] = useState('');
  const [parentId, setParentId] = useState('');
  const create = useAction(async () => {
    await api.request('POST', '/api/orgs', { name, ...(parentId ? { parentId } : {}) });
    setName('');
    orgs.reload();
  });
  const list = orgs.data?.orgs ?? [];
  return (
    <Page title="Organizations">
      <PlanUsageNote limit="subOrgs" changes={list.length} />
      <ErrorNotice error={orgs.error} />
      {orgs.loading && !orgs.data ? <Loading /> : null}
      <ul class="org-tree" aria-label="Organization tree">
        {list.map((o) => (
          <li key={o.id} style={{ '--depth': String(o.depth ?? 0) }}>
            <strong>{o.name}</strong> <Badge>{String(o.effectivePlan ?? o.plan ?? '')}</Badge>
            {o.kind === 'partner' ? <Badge tone="warn">partner</Badge> : null}
            {o.registration?.enabled ? <Badge tone="good">sign-ups open</Badge> : null}{' '}
            <code class="muted">{o.id}</code>
          </li>
        ))}
      </ul>
      {can('org.create-sub') ? (
        <section class="card" aria-labelledby="new-org-title">
          <h2 id="new-org-title">New sub-organization</h2>
          <Form label="Create an organization" onSubmit={() => void create.run()}>
            <Field label="Name" required maxLength={120} value={name} onValue={setName} />
            <Select
              label="Inside"
              value={parentId}
              onValue={setParentId}
              options={[
                { value: '', label: me.value?.org?.name ?? 'My organization' },
                ...list
                  .filter((o) => o.id !== me.value?.org?.id)
                  .map((o) => ({ value: o.id, label: o.name })),
              ]}
            />
            <ErrorNotice error={create.error} />
            <Button kind="primary" type="submit" busy={create.busy}>
              Create
            </Button>
          </Form>
        </section>
      ) : null}
      {can('org.edit') && can('users.invite') && list.length > 0 ? (
        <SignUps orgs={list} onDone={orgs.reload} />
      ) : null}
    </Page>
  );
}

/** Self-registration with a maker org: off by default; the org chooses what registrants get. */
function SignUps(props: { orgs: OrgView[]; onDone: () => void }) {
  // Registrants' own orgs and the Clients containers are not makers.
  const makers = props.orgs.filter((o) => o.kind !== 'clients' && o.kind !== 'client');
  const [orgId, setOrgId] = useState('');
  const org = makers.find((o) => o.id === orgId) ?? makers[0];
  if (!org) return null;
  return (
    <section class="card" aria-labelledby="sign-ups-title">
      <h2 id="sign-ups-title">Self-registration</h2>
      <p class="muted">
        People can sign up with an organization only where it says so. They join its Clients organization, as
        a client with the User role unless you choose otherwise.
      </p>
      <Select
        label="Maker organization"
        value={org.id}
        onValue={setOrgId}
        options={makers.map((o) => ({ value: o.id, label: o.name }))}
      />
      <SignUpForm key={org.id} org={org} onDone={props.onDone} />
    </section>
  );
}

function SignUpForm(props: { org: OrgView; onDone: () => void }) {
  const current = props.org.registration;
  const [enabled, setEnabled] = useState(current?.enabled ?? false);
  const [roleId, setRoleId] = useState(current?.roleId ?? 'user');
  const [type, setType] = useState(current?.type ?? 'client');
  const [ownOrg, setOwnOrg] = useState(current?.ownOrg ?? false);
  const [saved, setSaved] = useState('');
  const roles = useRoles(props.org.id);
  const save = useAction(async () => {
    setSaved('');
    await api.request('PATCH', `/api/orgs/${encodeURIComponent(props.org.id)}`, {
      registration: { enabled, roleId, type, ownOrg },
    });
    setSaved(
      enabled
        ? `People can now sign up with ${props.org.name}.`
        : `Sign-ups with ${props.org.name} are closed.`,
    );
    props.onDone();
  });
  return (
    <Form label={`Self-registration with ${props.org.name}`} onSubmit={() => void save.run()}>
      <label class="check">
        <input
          type="checkbox"
          name="enabled"
          checked={enabled}
          onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)}
        />
        Open sign-ups
      </label>
      <Select
        label="Registrants' role"
        value={roleId}
        onValue={setRoleId}
        options={(roles.data?.roles ?? []).map((r) => ({ value: r.key, label: r.name }))}
      />
      <Select
        label="Registrants' type"
        value={type}
        onValue={setType}
        options={USER_TYPES.filter((t) => t.value !== 'partner')}
      />
      <label class="check">
        <input
          type="checkbox"
          name="ownOrg"
          checked={ownOrg}
          onChange={(e) => setOwnOrg((e.currentTarget as HTMLInputElement).checked)}
        />
        Each registrant gets an organization of their own
      </label>
      {saved ? <Notice kind="success">{saved}</Notice> : null}
      {current?.enabled ? (
        <p>
          Sign-up link to share:{' '}
          <code>{`${location.origin}${CONSOLE_PAGES.signUp}?org=${encodeURIComponent(props.org.id)}`}</code>
        </p>
      ) : null}
      <ErrorNotice error={save.error ?? roles.error} />
      <Button kind="primary" type="submit" busy={save.busy}>
        Save sign-ups
      </Button>
    </Form>
  );
}
