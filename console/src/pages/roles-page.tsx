/**
 * Roles and permissions per organization, with the user types and the permissions the plan locks.
 * Each page appears only for the permission the gateway requires for it, and the gateway decides
 * every request.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Role } from '../api-types.js';
import { can, me } from '../session.js';
import {
  Badge,
  Button,
  ConfirmDialog,
  ErrorNotice,
  Field,
  Form,
  Notice,
  Page,
  Select,
  Table,
} from '../ui/components.js';
import { useAction, useLoad } from '../ui/hooks.js';
import { useOrgs, useRoles } from './org-data.js';

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
