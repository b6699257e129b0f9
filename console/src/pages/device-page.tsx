/**
 * One device: live values with a control per datastream type, and everything a person may do to it
 * (rename, share, transfer, reconfigure, re-provision, delete) with its audit trail. What is shown
 * follows the person's permissions; the gateway decides every request.
 */
import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type { AuditEvent, Datastream, Device, OrgView, PublicUser, Share, Template } from '../api-types.js';
import { formatAgo, formatTime, formatValue } from '../format.js';
import { useDeviceStream } from '../live.js';
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
import { applyDeviceEvent, OnlineBadge, statusTone } from './devices-page.js';

/** What the page offers: control (write, reconfigure) and, for the owner or org-wide control, management. */
function access(device: Device): { control: boolean; manage: boolean } {
  const mine = device.ownerId === me.value?.user.id;
  const grant = me.value?.sharedDevices.find((s) => s.deviceId === device.id)?.level;
  const control = can('devices.org.control') || (mine && can('devices.own.control')) || grant === 'control';
  return { control, manage: can('devices.org.control') || (mine && can('devices.own.control')) };
}

export function DevicePage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  const device = useLoad((signal) => api.get<Device>(`/api/devices/${encodeURIComponent(id)}`, signal), [id]);
  const [gone, setGone] = useState(false);
  useDeviceStream(device.data ? { deviceId: id } : undefined, ({ event, data }) => {
    if (event === 'snapshot') {
      const [fresh] = data.devices as Device[];
      if (fresh) device.set(fresh);
      return;
    }
    if (!device.data) return;
    const next = applyDeviceEvent(device.data, event, data);
    if (next) device.set(next);
    else setGone(true);
  });
  const template = useLoad(
    (signal) =>
      device.data
        ? api.get<Template>(`/api/templates/${encodeURIComponent(device.data.templateId)}`, signal)
        : Promise.resolve(undefined),
    [device.data?.templateId],
  );

  if (device.error) {
    return (
      <Page title="Device">
        <ErrorNotice error={device.error} />
        <a href={CONSOLE_PAGES.devices}>All devices</a>
      </Page>
    );
  }
  if (!device.data) return <Loading />;
  const d = device.data;
  const rights = access(d);
  return (
    <Page title={d.name}>
      <p class="device-summary">
        <OnlineBadge online={d.online} /> <Badge tone={statusTone(d.status)}>{d.status}</Badge>{' '}
        <span class="muted">seen {formatAgo(d.lastSeenAt)}</span>
      </p>
      {gone ? <Notice kind="warning">This device was deleted or is no longer visible to you.</Notice> : null}
      <Values device={d} datastreams={template.data?.datastreams ?? []} canWrite={rights.control} />
      <Details device={d} template={template.data} />
      {rights.control ? <Rename device={d} onDone={device.set} /> : null}
      {rights.manage ? <Shares device={d} /> : null}
      {can('devices.transfer') ? <Transfer device={d} onDone={device.reload} /> : null}
      {rights.control || can('devices.delete') ? (
        <Lifecycle device={d} control={rights.control} manage={rights.manage} />
      ) : null}
      {can('audit.view') ? <AuditTrail deviceId={d.id} /> : null}
    </Page>
  );
}

function Values(props: { device: Device; datastreams: Datastream[]; canWrite: boolean }) {
  const names = new Set([...props.datastreams.map((s) => s.name), ...Object.keys(props.device.values)]);
  const spec = new Map(props.datastreams.map((s) => [s.name, s]));
  return (
    <section aria-labelledby="values-title" class="card">
      <h2 id="values-title">Values</h2>
      {names.size === 0 ? <p class="muted">This product has no datastreams.</p> : null}
      <ul class="datastreams">
        {[...names].map((name) => (
          <DatastreamRow
            key={name}
            deviceId={props.device.id}
            name={name}
            spec={spec.get(name)}
            current={props.device.values[name]}
            canWrite={props.canWrite}
          />
        ))}
      </ul>
    </section>
  );
}

function DatastreamRow(props: {
  deviceId: string;
  name: string;
  spec: Datastream | undefined;
  current: { value: string | number; at: number } | undefined;
  canWrite: boolean;
}) {
  const { spec, current } = props;
  const [draft, setDraft] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction(async () => {
    const numeric = spec?.type === 'int' || spec?.type === 'double';
    const value = numeric ? Number(draft) : draft;
    await api.request(
      'PUT',
      `/api/devices/${encodeURIComponent(props.deviceId)}/datastreams/${encodeURIComponent(props.name)}`,
      { value },
    );
    setSent(true);
  });
  const range =
    spec && (spec.min !== undefined || spec.max !== undefined)
      ? ` (${spec.min ?? '…'} to ${spec.max ?? '…'})`
      : '';
  return (
    <li class="datastream">
      <div class="datastream-now">
        <span class="datastream-name">{props.name}</span>
        <output class="datastream-value" data-datastream={props.name} aria-live="polite">
          {formatValue(current?.value)}
        </output>
        <span class="muted">{current ? formatAgo(current.at) : ''}</span>
      </div>
      {props.canWrite && spec ? (
        <Form class="inline-form" label={`Send ${props.name}`} onSubmit={() => void action.run()}>
          {spec.type === 'enum' && spec.values ? (
            <Select
              label={`New ${props.name}`}
              value={draft}
              onValue={(v) => {
                setDraft(v);
                setSent(false);
              }}
              options={[
                { value: '', label: 'Choose…', disabled: true },
                ...spec.values.map((v) => ({ value: v, label: v })),
              ]}
            />
          ) : (
            <Field
              label={`New ${props.name}${range}`}
              type={spec.type === 'int' || spec.type === 'double' ? 'number' : 'text'}
              step={spec.type === 'int' ? 1 : 'any'}
              min={spec.min}
              max={spec.max}
              maxLength={255}
              required
              value={draft}
              onValue={(v) => {
                setDraft(v);
                setSent(false);
              }}
            />
          )}
          <Button type="submit" busy={action.busy} disabled={draft === ''}>
            Send
          </Button>
          {sent ? <span role="status">Sent.</span> : null}
          <ErrorNotice error={action.error} />
        </Form>
      ) : null}
    </li>
  );
}

function Details(props: { device: Device; template: Template | undefined }) {
  const d = props.device;
  return (
    <section aria-labelledby="details-title" class="card">
      <h2 id="details-title">Details</h2>
      <dl class="details">
        <dt>Device id</dt>
        <dd>
          <code>{d.id}</code>
        </dd>
        <dt>Product</dt>
        <dd>{props.template?.name ?? d.templateId}</dd>
        <dt>Hardware id</dt>
        <dd>{d.hardwareId ?? '—'}</dd>
        <dt>Firmware</dt>
        <dd>{d.firmware?.ver ?? '—'}</dd>
        <dt>Activated</dt>
        <dd>{formatTime(d.activatedAt)}</dd>
        <dt>Owner</dt>
        <dd>{d.ownerId === me.value?.user.id ? 'you' : (d.ownerId ?? 'nobody')}</dd>
      </dl>
    </section>
  );
}

function Rename(props: { device: Device; onDone: (d: Device) => void }) {
  const [name, setName] = useState(props.device.name);
  const action = useAction(async () => {
    props.onDone(
      await api.request<Device>('PATCH', `/api/devices/${encodeURIComponent(props.device.id)}`, { name }),
    );
  });
  return (
    <section aria-labelledby="rename-title" class="card">
      <h2 id="rename-title">Name</h2>
      <Form class="inline-form" label="Rename" onSubmit={() => void action.run()}>
        <Field label="Device name" required maxLength={120} value={name} onValue={setName} />
        <Button type="submit" busy={action.busy} disabled={name === props.device.name}>
          Rename
        </Button>
        <ErrorNotice error={action.error} />
      </Form>
    </section>
  );
}

function Shares(props: { device: Device }) {
  const path = `/api/devices/${encodeURIComponent(props.device.id)}/shares`;
  const shares = useLoad((signal) => api.get<{ shares: Share[] }>(path, signal), [path]);
  const [email, setEmail] = useState('');
  const [level, setLevel] = useState<'view' | 'control'>('view');
  const grant = useAction(async () => {
    await api.request('POST', path, { email, level });
    setEmail('');
    shares.reload();
  });
  const revoke = useAction(async (shareId: string) => {
    await api.request('DELETE', `${path}/${encodeURIComponent(shareId)}`);
    shares.reload();
  });
  return (
    <section aria-labelledby="shares-title" class="card">
      <h2 id="shares-title">Sharing</h2>
      <ErrorNotice error={shares.error ?? revoke.error} />
      <ul class="plain-list">
        {(shares.data?.shares ?? []).map((s) => (
          <li key={s.id}>
            {s.email} · {s.level}{' '}
            <Button kind="quiet" onClick={() => void revoke.run(s.id)}>
              Stop sharing with {s.email}
            </Button>
          </li>
        ))}
      </ul>
      <Form class="inline-form" label="Share this device" onSubmit={() => void grant.run()}>
        <Field label="Person's email" type="email" required value={email} onValue={setEmail} />
        <Select
          label="Access"
          value={level}
          onValue={(v) => setLevel(v as 'view' | 'control')}
          options={[
            { value: 'view', label: 'View' },
            { value: 'control', label: 'View and control' },
          ]}
        />
        <Button type="submit" busy={grant.busy}>
          Share
        </Button>
        <ErrorNotice error={grant.error} />
      </Form>
    </section>
  );
}

function Transfer(props: { device: Device; onDone: () => void }) {
  const users = useLoad(
    (signal) =>
      can('users.view')
        ? api.get<{ users: PublicUser[] }>('/api/users', signal)
        : Promise.resolve({ users: [] }),
    [],
  );
  const orgs = useLoad(
    (signal) =>
      can('org.view') ? api.get<{ orgs: OrgView[] }>('/api/orgs', signal) : Promise.resolve({ orgs: [] }),
    [],
  );
  const [target, setTarget] = useState('');
  const action = useAction(async () => {
    const [kind, id] = target.split(':');
    await api.request('POST', `/api/devices/${encodeURIComponent(props.device.id)}/transfer`, {
      [kind === 'user' ? 'userId' : 'orgId']: id,
    });
    setTarget('');
    props.onDone();
  });
  const options = [
    { value: '', label: 'Choose…', disabled: true },
    ...(users.data?.users ?? [])
      .filter((u) => u.id !== props.device.ownerId)
      .map((u) => ({ value: `user:${u.id}`, label: `Person: ${u.email}` })),
    ...(orgs.data?.orgs ?? [])
      .filter((o) => o.id !== props.device.orgId)
      .map((o) => ({ value: `org:${o.id}`, label: `Organization: ${o.name}` })),
  ];
  return (
    <section aria-labelledby="transfer-title" class="card">
      <h2 id="transfer-title">Transfer</h2>
      <Form class="inline-form" label="Transfer this device" onSubmit={() => void action.run()}>
        <Select label="New owner" value={target} onValue={setTarget} options={options} />
        <Button type="submit" busy={action.busy} disabled={!target}>
          Transfer
        </Button>
        <ErrorNotice error={action.error} />
      </Form>
    </section>
  );
}

function Lifecycle(props: { device: Device; control: boolean; manage: boolean }) {
  const { route } = useLocation();
  const base = `/api/devices/${encodeURIComponent(props.device.id)}`;
  const [confirm, setConfirm] = useState<'reprovision' | 'delete' | undefined>(undefined);
  const [done, setDone] = useState('');
  const [token, setToken] = useState('');
  const reconfigure = useAction(async () => {
    await api.request('POST', `${base}/reconfigure`);
    setDone('The device was told to return to provisioning mode.');
  });
  const reprovision = useAction(async () => {
    const result = await api.request<{ token: string }>('POST', `${base}/reprovision`);
    setConfirm(undefined);
    setToken(result.token);
  });
  const remove = useAction(async () => {
    await api.request('DELETE', base);
    route(CONSOLE_PAGES.devices, true);
  });
  return (
    <section aria-labelledby="lifecycle-title" class="card">
      <h2 id="lifecycle-title">Maintenance</h2>
      <div class="button-row">
        {props.control ? (
          <Button busy={reconfigure.busy} onClick={() => void reconfigure.run()}>
            Reconfigure Wi-Fi
          </Button>
        ) : null}
        {props.manage ? <Button onClick={() => setConfirm('reprovision')}>Re-provision…</Button> : null}
        {can('devices.delete') ? (
          <Button kind="danger" onClick={() => setConfirm('delete')}>
            Delete…
          </Button>
        ) : null}
      </div>
      {done ? <Notice kind="success">{done}</Notice> : null}
      {token ? (
        <Notice kind="warning">
          New device token (shown once; the old one no longer works): <code class="secret">{token}</code>
        </Notice>
      ) : null}
      <ErrorNotice error={reconfigure.error} />
      <ConfirmDialog
        open={confirm === 'reprovision'}
        title="Re-provision this device?"
        confirmLabel="Re-provision"
        busy={reprovision.busy}
        onConfirm={() => void reprovision.run()}
        onCancel={() => setConfirm(undefined)}
      >
        <p>
          A new token replaces the old one at once; the device drops off until it gets the new token. Its data
          stays.
        </p>
        <ErrorNotice error={reprovision.error} />
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'delete'}
        title={`Delete ${props.device.name}?`}
        confirmLabel="Delete device"
        busy={remove.busy}
        onConfirm={() => void remove.run()}
        onCancel={() => setConfirm(undefined)}
      >
        <p>Its token stops working, a connected device is told to wipe itself, and this cannot be undone.</p>
        <ErrorNotice error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}

export function AuditTable(props: { events: AuditEvent[]; label: string }) {
  return (
    <Table label={props.label}>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Action</th>
          <th scope="col">By</th>
          <th scope="col">Target</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr key={e.id}>
            <td>{formatTime(e.at)}</td>
            <td>{e.action}</td>
            <td>{e.actor}</td>
            <td>
              {e.targetType} {e.targetId}
            </td>
            <td>{e.ip ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function AuditTrail(props: { deviceId: string }) {
  const events = useLoad(
    (signal) =>
      api.get<{ events: AuditEvent[] }>(
        `/api/audit?targetId=${encodeURIComponent(props.deviceId)}&limit=50`,
        signal,
      ),
    [props.deviceId],
  );
  return (
    <section aria-labelledby="audit-title" class="card">
      <h2 id="audit-title">History</h2>
      <ErrorNotice error={events.error} />
      {events.data ? <AuditTable events={events.data.events} label="Device history" /> : <Loading />}
    </section>
  );
}
