/**
 * People and invitations: inviting someone, managing a person (role, type, a move to another org
 * with their devices), and the invitations still pending. Each page appears only for the
 * permission the gateway requires for it, and the gateway decides every request.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Invitation, PublicUser } from '../api-types.js';
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
import { USER_TYPES, useOrgs, useRoles } from './org-data.js';

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
