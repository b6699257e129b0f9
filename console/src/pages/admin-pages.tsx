/**
 * Pages for people who manage an organization: its tree, people, roles and permissions,
 * invitations, products (templates) and static-token mints, and the audit log. Each page appears
 * only for the permission the gateway requires for it, and the gateway decides every request.
 */
import { useState } from 'preact/hooks';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type {
  AuditEvent,
  Datastream,
  Invitation,
  OrgView,
  PublicUser,
  Role,
  Template,
} from '../api-types.js';
import { formatTime } from '../format.js';
import { can, me } from '../session.js';
import {
  Badge,
  Button,
  ConfirmDialog,
  ErrorNotice,
  Field,
  Form,
  Loading,
  Notice,
  Page,
  Select,
  Table,
} from '../ui/components.js';
import { useAction, useLoad } from '../ui/hooks.js';
import { PlanUsageNote } from '../ui/plan-usage.js';
import { AuditTable } from './device-page.js';

/** What each user type is for (Blynk's model); the gateway decides what each may do. */
const USER_TYPES = [
  { value: 'developer', label: 'Developer — works on products' },
  { value: 'client', label: 'Client — uses devices' },
  { value: 'partner', label: 'Partner — manages clients (partner organizations)' },
] as const;

const useOrgs = () =>
  useLoad((signal) => api.get<{ orgs: (OrgView & { depth?: number })[] }>('/api/orgs', signal), []);

/** An org's roles; where the gateway reports them, the plan there and the permissions it locks. */
interface OrgRoles {
  roles: (Role & { key: string })[];
  plan?: string;
  lockedPermissions?: string[];
}

const useRoles = (orgId: string | undefined) =>
  useLoad(
    (signal) =>
      orgId
        ? api.get<OrgRoles>(`/api/orgs/${encodeURIComponent(orgId)}/roles`, signal)
        : Promise.resolve<OrgRoles>({ roles: [] }),
    [orgId],
  );

// ---- organizations ----------------------------------------------------------------------------

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

// ---- people -----------------------------------------------------------------------------------

function InviteForm(props: { onDone: () => void }) {
  const orgs = useOrgs();
  const [email, setEmail] = useState('');
  const [orgId, setOrgId] = useState('');
  const [roleId, setRoleId] = useState('user');
  const [type, setType] = useState('developer');
  const org = orgId || me.value?.user.orgId;
  const roles = useRoles(org);
  const [sent, setSent] = useState('');
  const invite = useAction(async () => {
    await api.request('POST', '/api/invitations', { email, roleId, type, ...(orgId ? { orgId } : {}) });
    setSent(email);
    setEmail('');
    props.onDone();
  });
  return (
    <section class="card" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <Form label="Invite someone" onSubmit={() => void invite.run()}>
        <Field label="Email" type="email" required value={email} onValue={setEmail} />
        <Select
          label="Organization"
          value={orgId}
          onValue={setOrgId}
          options={[
            { value: '', label: me.value?.org?.name ?? 'My organization' },
            ...(orgs.data?.orgs ?? [])
              .filter((o) => o.id !== me.value?.user.orgId)
              .map((o) => ({ value: o.id, label: o.name })),
          ]}
        />
        <Select
          label="Role"
          value={roleId}
          onValue={setRoleId}
          options={(roles.data?.roles ?? []).map((r) => ({ value: r.key, label: r.name }))}
        />
        <Select label="Type" value={type} onValue={setType} options={USER_TYPES} />
        {sent ? (
          <Notice kind="success">Invitation mailed to {sent}. The link works for 30 days.</Notice>
        ) : null}
        <ErrorNotice error={invite.error} />
        <Button kind="primary" type="submit" busy={invite.busy}>
          Send invitation
        </Button>
      </Form>
    </section>
  );
}

export function UsersPage() {
  const users = useLoad((signal) => api.get<{ users: PublicUser[] }>('/api/users', signal), []);
  const [selected, setSelected] = useState<PublicUser | undefined>(undefined);
  return (
    <Page title="People">
      <PlanUsageNote limit="users" changes={users.data?.users.length} />
      {can('users.invite') ? <InviteForm onDone={users.reload} /> : null}
      <ErrorNotice error={users.error} />
      {users.data ? (
        <Table label="People">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data.users.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>{u.name}</td>
                <td>{u.type}</td>
                <td>{u.roleId}</td>
                <td>
                  <Badge tone={u.status === 'active' ? 'good' : 'warn'}>{u.status}</Badge>
                </td>
                <td>
                  <Button kind="quiet" onClick={() => setSelected(u)} aria-label={`Manage ${u.email}`}>
                    Manage
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : (
        <Loading />
      )}
      {selected ? (
        <ManageUser
          key={selected.id}
          user={selected}
          onDone={() => {
            users.reload();
            setSelected(undefined);
          }}
        />
      ) : null}
    </Page>
  );
}

function ManageUser(props: { user: PublicUser; onDone: () => void }) {
  const u = props.user;
  const orgs = useOrgs();
  const [orgId, setOrgId] = useState(u.orgId);
  const roles = useRoles(orgId);
  const [roleId, setRoleId] = useState(u.roleId);
  const [type, setType] = useState(u.type);
  const [devices, setDevices] = useState<'move' | 'leave'>('move');
  const [message, setMessage] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const path = `/api/users/${encodeURIComponent(u.id)}`;
  const moving = orgId !== u.orgId;
  const save = useAction(async () => {
    if (moving) await api.request('POST', `${path}/move`, { orgId, roleId, devices });
    const patch = {
      ...(moving || roleId === u.roleId ? {} : { roleId }),
      ...(type === u.type ? {} : { type }),
    };
    if (Object.keys(patch).length > 0) await api.request('PATCH', path, patch);
    props.onDone();
  });
  const reset = useAction(async () => {
    await api.request('POST', `${path}/reset-password`, {});
    setMessage(`A password reset link was mailed to ${u.email}.`);
  });
  const logout = useAction(async () => {
    await api.request('POST', `${path}/logout`);
    setMessage(`${u.email} is signed out everywhere.`);
  });
  const remove = useAction(async () => {
    await api.request('DELETE', path);
    props.onDone();
  });
  const self = u.id === me.value?.user.id;
  return (
    <section class="card" aria-labelledby="manage-title">
      <h2 id="manage-title">Manage {u.email}</h2>
      {can('users.edit') ? (
        <Form label={`Role of ${u.email}`} onSubmit={() => void save.run()}>
          <Select
            label="Organization"
            value={orgId}
            onValue={setOrgId}
            options={(orgs.data?.orgs ?? []).map((o) => ({ value: o.id, label: o.name }))}
          />
          <Select
            label="Role"
            value={roleId}
            onValue={setRoleId}
            options={(roles.data?.roles ?? []).map((r) => ({ value: r.key, label: r.name }))}
          />
          <Select label="Type" value={type} onValue={setType} options={USER_TYPES} />
          {moving ? (
            <Select
              label="Their devices"
              value={devices}
              onValue={(v) => setDevices(v === 'leave' ? 'leave' : 'move')}
              options={[
                { value: 'move', label: 'Move with them' },
                { value: 'leave', label: 'Stay in their organization, without an owner' },
              ]}
            />
          ) : null}
          <ErrorNotice error={save.error} />
          <Button kind="primary" type="submit" busy={save.busy} disabled={self}>
            Save
          </Button>
        </Form>
      ) : null}
      <div class="button-row">
        {can('users.reset-password') ? (
          <Button busy={reset.busy} onClick={() => void reset.run()}>
            Mail a password reset
          </Button>
        ) : null}
        {can('users.force-logout') ? (
          <Button busy={logout.busy} onClick={() => void logout.run()}>
            Sign out everywhere
          </Button>
        ) : null}
        {can('users.delete') && !self ? (
          <Button kind="danger" onClick={() => setConfirmDelete(true)}>
            Delete…
          </Button>
        ) : null}
      </div>
      {message ? <Notice kind="success">{message}</Notice> : null}
      <ErrorNotice error={reset.error ?? logout.error} />
      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${u.email}?`}
        confirmLabel="Delete person"
        busy={remove.busy}
        onConfirm={() => void remove.run()}
        onCancel={() => setConfirmDelete(false)}
      >
        <p>Their devices stay in the organization, without an owner. This cannot be undone.</p>
        <ErrorNotice error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}

export function InvitationsPage() {
  const list = useLoad(
    (signal) => api.get<{ invitations: (Invitation & { status: string })[] }>('/api/invitations', signal),
    [],
  );
  const revoke = useAction(async (id: string) => {
    await api.request('DELETE', `/api/invitations/${encodeURIComponent(id)}`);
    list.reload();
  });
  return (
    <Page title="Invitations">
      <InviteForm onDone={list.reload} />
      <ErrorNotice error={list.error ?? revoke.error} />
      {list.data ? (
        <Table label="Invitations">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.invitations.map((i) => (
              <tr key={i.id}>
                <td>{i.email}</td>
                <td>{i.roleId}</td>
                <td>{i.status}</td>
                <td>{formatTime(i.expiresAt)}</td>
                <td>
                  {i.status === 'pending' ? (
                    <Button
                      kind="quiet"
                      onClick={() => void revoke.run(i.id)}
                      aria-label={`Revoke invitation of ${i.email}`}
                    >
                      Revoke
                    </Button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : (
        <Loading />
      )}
    </Page>
  );
}

// ---- roles ------------------------------------------------------------------------------------

export function RolesPage() {
  const orgs = useOrgs();
  const [orgId, setOrgId] = useState('');
  const org = orgId || me.value?.user.orgId;
  const roles = useRoles(org);
  const catalogue = useLoad((signal) => api.get<PermissionCatalogue>('/api/permissions', signal), []);
  const editable = can('roles.edit');
  const locked = new Set(roles.data?.lockedPermissions ?? []);
  const list = roles.data?.roles ?? [];
  return (
    <Page title="Roles and permissions">
      <Select
        label="Organization"
        value={orgId}
        onValue={setOrgId}
        options={[
          { value: '', label: me.value?.org?.name ?? 'My organization' },
          ...(orgs.data?.orgs ?? [])
            .filter((o) => o.id !== me.value?.user.orgId)
            .map((o) => ({ value: o.id, label: o.name })),
        ]}
      />
      {locked.size > 0 ? (
        <Notice>
          The {roles.data?.plan ?? 'current'} plan locks {locked.size} permission
          {locked.size === 1 ? '' : 's'}: no role edit may grant or remove {locked.size === 1 ? 'it' : 'them'}
          . They are marked locked below.
        </Notice>
      ) : null}
      <ErrorNotice error={roles.error ?? catalogue.error} />
      {catalogue.data?.userTypes ? <UserTypes catalogue={catalogue.data} /> : null}
      {list.map((role) => (
        <RoleCard
          key={`${org}:${role.key}`}
          orgId={org ?? ''}
          role={role}
          others={list.filter((r) => r.key !== role.key)}
          catalogue={catalogue.data?.permissions ?? []}
          locked={locked}
          editable={editable && role.key !== 'admin'}
          onDone={roles.reload}
        />
      ))}
      {editable && org ? (
        <NewRole
          orgId={org}
          catalogue={catalogue.data?.permissions ?? []}
          locked={locked}
          onDone={roles.reload}
        />
      ) : null}
    </Page>
  );
}

/** GET /api/permissions: the names, and what each user type may ever hold. */
interface PermissionCatalogue {
  permissions: string[];
  userTypes?: { type: string; permissions: string[] }[];
}

/** Type and role decide together: a role grants nothing a person's type may never hold. */
function UserTypes(props: { catalogue: PermissionCatalogue }) {
  return (
    <section class="card" aria-labelledby="user-types-title">
      <h2 id="user-types-title">User types</h2>
      <p class="muted">
        A person's type and role decide together: a role never gives someone what their type may not hold.
      </p>
      <Table label="User types">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Never holds, whatever the role</th>
          </tr>
        </thead>
        <tbody>
          {(props.catalogue.userTypes ?? []).map((t) => {
            const held = new Set(t.permissions);
            const never = props.catalogue.permissions.filter((p) => !held.has(p));
            return (
              <tr key={t.type} data-type={t.type}>
                <th scope="row">{t.type}</th>
                <td>{never.length === 0 ? 'nothing: any role applies in full' : never.join(', ')}</td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </section>
  );
}

/** The permission checkboxes of a role; a permission the plan locks cannot be changed here. */
function PermissionChecks(props: {
  catalogue: string[];
  chosen: ReadonlySet<string>;
  locked: ReadonlySet<string>;
  onChange: (next: Set<string>) => void;
}) {
  return (
    <>
      {props.catalogue.map((p) => (
        <label key={p} class="check" data-permission={p}>
          <input
            type="checkbox"
            checked={props.chosen.has(p)}
            disabled={props.locked.has(p)}
            onChange={(e) => {
              const next = new Set(props.chosen);
              if ((e.currentTarget as HTMLInputElement).checked) next.add(p);
              else next.delete(p);
              props.onChange(next);
            }}
          />
          {p}
          {props.locked.has(p) ? <Badge tone="warn">locked by plan</Badge> : null}
        </label>
      ))}
    </>
  );
}

function RoleCard(props: {
  orgId: string;
  role: Role & { key: string };
  others: (Role & { key: string })[];
  catalogue: string[];
  locked: ReadonlySet<string>;
  editable: boolean;
  onDone: () => void;
}) {
  const [chosen, setChosen] = useState<Set<string>>(new Set(props.role.permissions));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [moveTo, setMoveTo] = useState('user');
  const path = `/api/orgs/${encodeURIComponent(props.orgId)}/roles/${encodeURIComponent(props.role.key)}`;
  const save = useAction(async () => {
    await api.request('PATCH', path, { permissions: [...chosen] });
    props.onDone();
  });
  const remove = useAction(async () => {
    await api.request('DELETE', `${path}?moveUsersTo=${encodeURIComponent(moveTo)}`);
    setConfirmDelete(false);
    props.onDone();
  });
  const changed =
    chosen.size !== props.role.permissions.length || props.role.permissions.some((p) => !chosen.has(p));
  return (
    <section class="card" aria-labelledby={`role-${props.role.key}`}>
      <h2 id={`role-${props.role.key}`}>
        {props.role.name} {props.role.builtIn ? <Badge>built in</Badge> : null}
      </h2>
      <fieldset class="permissions" disabled={!props.editable}>
        <legend>
          Permissions{' '}
          {props.editable ? null : (
            <span class="muted">
              (locked:{' '}
              {props.role.key === 'admin'
                ? 'Admin holds every permission'
                : 'your role does not allow editing roles'}
              )
            </span>
          )}
        </legend>
        <PermissionChecks
          catalogue={props.catalogue}
          chosen={chosen}
          locked={props.locked}
          onChange={setChosen}
        />
      </fieldset>
      {props.editable ? (
        <>
          <ErrorNotice error={save.error} />
          <div class="button-row">
            <Button kind="primary" busy={save.busy} disabled={!changed} onClick={() => void save.run()}>
              Save {props.role.name}
            </Button>
            {props.role.builtIn ? null : (
              <Button kind="danger" onClick={() => setConfirmDelete(true)}>
                Delete {props.role.name}…
              </Button>
            )}
          </div>
          <ConfirmDialog
            open={confirmDelete}
            title={`Delete the role ${props.role.name}?`}
            confirmLabel="Delete role"
            busy={remove.busy}
            onConfirm={() => void remove.run()}
            onCancel={() => setConfirmDelete(false)}
          >
            <p>People who hold it get another role; this cannot be undone.</p>
            <Select
              label="Give its people the role"
              value={moveTo}
              onValue={setMoveTo}
              options={props.others
                .filter((r) => r.key !== 'admin')
                .map((r) => ({ value: r.key, label: r.name }))}
            />
            <ErrorNotice error={remove.error} />
          </ConfirmDialog>
        </>
      ) : null}
    </section>
  );
}

function NewRole(props: {
  orgId: string;
  catalogue: string[];
  locked: ReadonlySet<string>;
  onDone: () => void;
}) {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const create = useAction(async () => {
    await api.request('POST', `/api/orgs/${encodeURIComponent(props.orgId)}/roles`, {
      name,
      permissions: [...chosen],
    });
    setName('');
    setChosen(new Set());
    props.onDone();
  });
  return (
    <section class="card" aria-labelledby="new-role-title">
      <h2 id="new-role-title">New role</h2>
      <Form label="Create a role" onSubmit={() => void create.run()}>
        <Field label="Role name" required maxLength={120} value={name} onValue={setName} />
        <fieldset class="permissions">
          <legend>Permissions of the new role</legend>
          <PermissionChecks
            catalogue={props.catalogue}
            chosen={chosen}
            locked={props.locked}
            onChange={setChosen}
          />
        </fieldset>
        <ErrorNotice error={create.error} />
        <Button kind="primary" type="submit" busy={create.busy}>
          Create role
        </Button>
      </Form>
    </section>
  );
}

// ---- templates --------------------------------------------------------------------------------

const TYPES: Datastream['type'][] = ['int', 'double', 'string', 'enum', 'location'];

export function TemplatesPage() {
  const list = useLoad((signal) => api.get<{ templates: Template[] }>('/api/templates', signal), []);
  const [editing, setEditing] = useState<Template | null>(null);
  const mayEdit = can('templates.edit');
  return (
    <Page title="Products">
      <PlanUsageNote limit="templates" changes={list.data?.templates.length} />
      {mayEdit ? (
        // One form at a time, so each field's label names one control.
        <TemplateForm
          key={editing?.id ?? 'new'}
          template={editing ?? undefined}
          onDone={() => {
            setEditing(null);
            list.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : null}
      <ErrorNotice error={list.error} />
      {(list.data?.templates ?? []).map((t) => (
        <section class="card" key={t.id} aria-labelledby={`tmpl-${t.id}`}>
          <h2 id={`tmpl-${t.id}`}>
            {t.name} <code class="muted">{t.id}</code>
          </h2>
          <p class="muted">
            Security {t.minSecurity ?? 2} or better{t.hotspotPrefix ? ` · hotspot ${t.hotspotPrefix}` : ''}
          </p>
          <ul class="plain-list">
            {t.datastreams.map((d) => (
              <li key={d.name}>
                <strong>{d.name}</strong> · {d.type}
                {d.pin ? ` · ${d.pin}` : ''}
                {d.min !== undefined || d.max !== undefined ? ` · ${d.min ?? '…'} to ${d.max ?? '…'}` : ''}
                {d.values ? ` · ${d.values.join(', ')}` : ''}
              </li>
            ))}
          </ul>
          {mayEdit && editing?.id !== t.id ? (
            <Button aria-label={`Edit ${t.name}`} onClick={() => setEditing(t)}>
              Edit
            </Button>
          ) : null}
        </section>
      ))}
    </Page>
  );
}

interface DraftStream {
  name: string;
  type: Datastream['type'];
  min: string;
  max: string;
  /** An enum's values, comma-separated. */
  values: string;
  /** The datastream as the gateway has it, when editing: what the form does not show is kept. */
  original?: Datastream;
}

const EMPTY_STREAM: DraftStream = { name: '', type: 'double', min: '', max: '', values: '' };

const draftOf = (d: Datastream): DraftStream => ({
  name: d.name,
  type: d.type,
  min: d.min === undefined ? '' : String(d.min),
  max: d.max === undefined ? '' : String(d.max),
  values: (d.values ?? []).join(', '),
  original: d,
});

/** The datastream a draft stands for; an edited one keeps its pin, and its sync and default while its type stays. */
function datastreamOf(s: DraftStream): Datastream {
  const kept = s.original;
  return {
    ...(kept?.pin ? { pin: kept.pin } : {}),
    ...(kept?.sync !== undefined ? { sync: kept.sync } : {}),
    ...(kept?.defaultValue !== undefined && kept.type === s.type ? { defaultValue: kept.defaultValue } : {}),
    name: s.name.trim(),
    type: s.type,
    ...(s.type === 'int' || s.type === 'double'
      ? {
          ...(s.min !== '' ? { min: Number(s.min) } : {}),
          ...(s.max !== '' ? { max: Number(s.max) } : {}),
        }
      : {}),
    ...(s.type === 'enum'
      ? {
          values: s.values
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean),
        }
      : {}),
  };
}

/** A new product, or an existing one edited (name, security, hotspot prefix, datastreams). */
function TemplateForm(props: { template?: Template; onDone: () => void; onCancel: () => void }) {
  const editing = props.template;
  const [name, setName] = useState(editing?.name ?? '');
  const [minSecurity, setMinSecurity] = useState(String(editing?.minSecurity ?? 2));
  const [hotspotPrefix, setHotspotPrefix] = useState(editing?.hotspotPrefix ?? '');
  const [streams, setStreams] = useState<DraftStream[]>(
    editing && editing.datastreams.length > 0 ? editing.datastreams.map(draftOf) : [EMPTY_STREAM],
  );
  const save = useAction(async () => {
    const body = {
      name,
      datastreams: streams.filter((s) => s.name.trim()).map(datastreamOf),
      minSecurity: Number(minSecurity),
      ...(hotspotPrefix.trim() ? { hotspotPrefix: hotspotPrefix.trim() } : {}),
    };
    if (editing) {
      await api.request('PATCH', `/api/templates/${encodeURIComponent(editing.id)}`, body);
    } else {
      await api.request('POST', '/api/templates', body);
      setName('');
      setHotspotPrefix('');
      setStreams([EMPTY_STREAM]);
    }
    props.onDone();
  });
  const update = (i: number, change: Partial<DraftStream>) =>
    setStreams(streams.map((s, j) => (j === i ? { ...s, ...change } : s)));
  const titleId = editing ? `edit-template-${editing.id}` : 'new-template-title';
  return (
    <section class="card" aria-labelledby={titleId}>
      <h2 id={titleId}>{editing ? `Edit ${editing.name}` : 'New product'}</h2>
      {editing ? (
        <p class="muted">
          Devices already set up keep working; a datastream you remove or retype refuses their next value for
          it.
        </p>
      ) : null}
      <Form label={editing ? `Edit ${editing.name}` : 'Create a product'} onSubmit={() => void save.run()}>
        <Field label="Product name" required maxLength={120} value={name} onValue={setName} />
        <Select
          label="Minimum security"
          value={minSecurity}
          onValue={setMinSecurity}
          hint="Devices offering less are refused before any secret is sent."
          options={[
            { value: '2', label: 'Security 2 (SRP6a + AES-GCM)' },
            { value: '1', label: 'Security 1 (X25519 + AES-CTR)' },
            { value: '0', label: 'Security 0 (no encryption; lab use only)' },
          ]}
        />
        <Field
          label="Hotspot prefix (optional)"
          hint="The start of the Wi-Fi or Bluetooth name the devices advertise while they wait to be set up."
          pattern="[A-Za-z0-9_\-]{1,24}"
          maxLength={24}
          value={hotspotPrefix}
          onValue={setHotspotPrefix}
        />
        {streams.map((s, i) => (
          <fieldset class="datastream-row" key={i}>
            <legend>
              Datastream {i + 1}
              {s.original?.pin ? ` (${s.original.pin})` : ''}
            </legend>
            <Field
              label="Name"
              pattern="[A-Za-z0-9_\-.:]{1,64}"
              value={s.name}
              onValue={(v) => update(i, { name: v })}
            />
            <Select
              label="Type"
              value={s.type}
              onValue={(v) => update(i, { type: v as Datastream['type'] })}
              options={TYPES.map((t) => ({ value: t, label: t }))}
            />
            {s.type === 'int' || s.type === 'double' ? (
              <>
                <Field
                  label="Min"
                  type="number"
                  step="any"
                  value={s.min}
                  onValue={(v) => update(i, { min: v })}
                />
                <Field
                  label="Max"
                  type="number"
                  step="any"
                  value={s.max}
                  onValue={(v) => update(i, { max: v })}
                />
              </>
            ) : null}
            {s.type === 'enum' ? (
              <Field
                label="Values"
                hint="Separated by commas, for example: off, heat, cool."
                required
                value={s.values}
                onValue={(v) => update(i, { values: v })}
              />
            ) : null}
            {streams.length > 1 ? (
              <Button
                aria-label={`Remove datastream ${i + 1}`}
                onClick={() => setStreams(streams.filter((_, j) => j !== i))}
              >
                Remove
              </Button>
            ) : null}
          </fieldset>
        ))}
        <Button onClick={() => setStreams([...streams, EMPTY_STREAM])}>Add a datastream</Button>
        <ErrorNotice error={save.error} />
        <Button kind="primary" type="submit" busy={save.busy}>
          {editing ? 'Save product' : 'Create product'}
        </Button>
        {editing ? <Button onClick={props.onCancel}>Cancel</Button> : null}
      </Form>
    </section>
  );
}

// ---- audit ------------------------------------------------------------------------------------

/** A datetime-local value (the browser's local time) as milliseconds, or undefined when empty. */
const localTime = (value: string): number | undefined => {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
};

interface AuditFilters {
  log: 'audit' | 'devices';
  orgId: string;
  targetId: string;
  action: string;
  actor: string;
  since: string;
  until: string;
}

const NO_FILTERS: AuditFilters = {
  log: 'audit',
  orgId: '',
  targetId: '',
  action: '',
  actor: '',
  since: '',
  until: '',
};

/** Action families people filter by; any exact action (user.deleted) can be typed too. */
const ACTION_FAMILIES = [
  'auth.',
  'user.',
  'org.',
  'role.',
  'invitation.',
  'device.',
  'template.',
  'session.',
];

export function AuditPage() {
  const orgs = useOrgs();
  const people = useLoad((signal) => api.get<{ users: PublicUser[] }>('/api/users', signal), []);
  const [form, setForm] = useState<AuditFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditFilters>(NO_FILTERS);
  const set = (field: keyof AuditFilters) => (value: string) => setForm({ ...form, [field]: value });
  const events = useLoad(
    (signal) => {
      const params = new URLSearchParams({ limit: '200' });
      if (applied.log === 'devices') params.set('log', 'devices');
      if (applied.orgId) params.set('orgId', applied.orgId);
      if (applied.targetId) params.set('targetId', applied.targetId);
      if (applied.action) params.set('action', applied.action);
      if (applied.actor) params.set('actor', applied.actor);
      const since = localTime(applied.since);
      const until = localTime(applied.until);
      if (since !== undefined) params.set('since', String(since));
      // The end of the chosen minute is still inside it.
      if (until !== undefined) params.set('until', String(until + 59_999));
      return api.get<{ events: AuditEvent[] }>(`/api/audit?${params}`, signal);
    },
    [JSON.stringify(applied)],
  );
  const label = applied.log === 'devices' ? 'Device commands' : 'Audit log';
  return (
    <Page title="Audit log">
      <Form
        class="filters"
        label="Filter the audit log"
        onSubmit={() =>
          setApplied({
            ...form,
            targetId: form.targetId.trim(),
            action: form.action.trim().toLowerCase(),
          })
        }
      >
        <Select
          label="Log"
          value={form.log}
          onValue={set('log')}
          hint="Commands people send devices (writes, reboots, pings) are kept apart, and only the latest."
          options={[
            { value: 'audit', label: 'Accounts, ownership and settings' },
            { value: 'devices', label: 'Device commands' },
          ]}
        />
        <Select
          label="Organization"
          value={form.orgId}
          onValue={set('orgId')}
          options={[
            { value: '', label: 'All I can see' },
            ...(orgs.data?.orgs ?? []).map((o) => ({ value: o.id, label: o.name })),
          ]}
        />
        <Field
          label="Action"
          hint="One action (user.deleted), or a family ending in a dot (user.)."
          pattern="[a-zA-Z][a-zA-Z0-9.\-]{0,63}"
          maxLength={64}
          list="audit-actions"
          value={form.action}
          onValue={set('action')}
        />
        <datalist id="audit-actions">
          {ACTION_FAMILIES.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Select
          label="Who"
          value={form.actor}
          onValue={set('actor')}
          options={[
            { value: '', label: 'Anyone' },
            { value: 'system', label: 'The gateway itself' },
            ...(people.data?.users ?? []).map((u) => ({ value: u.id, label: `${u.name} <${u.email}>` })),
          ]}
        />
        <Field type="datetime-local" label="From" value={form.since} onValue={set('since')} />
        <Field type="datetime-local" label="Until" value={form.until} onValue={set('until')} />
        <Field
          label="Target id"
          hint="A device, person or organization id."
          value={form.targetId}
          onValue={set('targetId')}
        />
        <div class="button-row">
          <Button type="submit">Filter</Button>
          <Button
            kind="quiet"
            onClick={() => {
              setForm(NO_FILTERS);
              setApplied(NO_FILTERS);
            }}
          >
            Clear
          </Button>
        </div>
      </Form>
      <ErrorNotice error={events.error ?? people.error} />
      {events.data ? (
        events.data.events.length === 0 ? (
          <Notice>No events match these filters.</Notice>
        ) : (
          <AuditTable events={events.data.events} label={label} />
        )
      ) : (
        <Loading />
      )}
    </Page>
  );
}
