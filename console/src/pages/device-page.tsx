/**
 * One device: live values with a control per datastream type, and everything a person may do to it
 * (rename, share, transfer, reconfigure, re-provision, delete) with its audit trail. What is shown
 * follows the person's permissions; the gateway decides every request.
 */
import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type {
  AuditEvent,
  Datastream,
  DatastreamValue,
  Device,
  OrgView,
  PublicUser,
  Share,
  Template,
} from '../api-types.js';
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
import { usePeople } from '../ui/people.js';
import { applyDeviceEvent, OnlineBadge, statusTone } from './devices-page.js';

/**
 * What the page offers, as the gateway's policy decides it: control (write, reconfigure, reboot)
 * by role or a control share; taking charge (share, transfer, re-provision, delete) only by the
 * owner or org-wide control, each with its own permission — a share never takes a device over.
 */
function access(device: Device) {
  const mine = device.ownerId === me.value?.user.id;
  const grant = me.value?.sharedDevices.find((s) => s.deviceId === device.id)?.level;
  const charge = can('devices.org.control') || (mine && can('devices.own.control'));
  return {
    control: charge || grant === 'control',
    grant,
    share: (mine && can('devices.own.control')) || can('devices.transfer'),
    transfer: charge && can('devices.transfer'),
    reprovision: charge && can('devices.provision'),
    remove: charge && can('devices.delete'),
  };
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
      {rights.grant ? (
        <Notice>Shared with you to {rights.grant === 'control' ? 'view and control' : 'view'}.</Notice>
      ) : null}
      {rights.control ? <Rename device={d} onDone={device.set} /> : null}
      {rights.share ? <Shares device={d} /> : null}
      {rights.transfer ? <Transfer device={d} onDone={device.reload} /> : null}
      {rights.control || rights.reprovision || rights.remove ? (
        <Lifecycle device={d} rights={rights} />
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

/** The control a datastream's type calls for: a switch for 0/1, a slider for a bounded number, … */
export type DatastreamControl = 'switch' | 'slider' | 'number' | 'choice' | 'location' | 'text';

export function controlFor(spec: Datastream): DatastreamControl {
  const numeric = spec.type === 'int' || spec.type === 'double';
  if (spec.type === 'int' && spec.min === 0 && spec.max === 1) return 'switch';
  if (numeric && spec.min !== undefined && spec.max !== undefined) return 'slider';
  if (numeric) return 'number';
  if (spec.type === 'enum' && spec.values?.length) return 'choice';
  if (spec.type === 'location') return 'location';
  return 'text';
}

function DatastreamRow(props: {
  deviceId: string;
  name: string;
  spec: Datastream | undefined;
  current: { value: DatastreamValue; at: number } | undefined;
  canWrite: boolean;
}) {
  const { spec, current, name } = props;
  const [draft, setDraft] = useState('');
  const [place, setPlace] = useState({ lon: '', lat: '' });
  const [sent, setSent] = useState<{ online: boolean } | undefined>(undefined);
  const kind = spec ? controlFor(spec) : 'text';
  const send = useAction(async (value: string | number) => {
    setSent(
      await api.request<{ online: boolean }>(
        'PUT',
        `/api/devices/${encodeURIComponent(props.deviceId)}/datastreams/${encodeURIComponent(name)}`,
        { value },
      ),
    );
  });
  const edit = (v: string) => {
    setDraft(v);
    setSent(undefined);
  };
  const submit = () => {
    if (kind === 'location') void send.run(`${place.lon},${place.lat}`);
    else void send.run(kind === 'slider' || kind === 'number' ? Number(draft) : draft);
  };
  const range =
    spec?.min !== undefined || spec?.max !== undefined ? ` (${spec?.min ?? '…'} to ${spec?.max ?? '…'})` : '';
  const outcome = (
    <>
      {sent ? (
        <span role="status">
          {sent.online ? 'Sent.' : 'Saved. The device is offline, so it did not receive it now.'}
        </span>
      ) : null}
      <ErrorNotice error={send.error} />
    </>
  );
  let control: preact.JSX.Element | null = null;
  if (props.canWrite && spec && kind === 'switch') {
    const on = current?.value === 1;
    control = (
      <div class="inline-form">
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            checked={on}
            aria-checked={on}
            disabled={send.busy}
            onChange={(e) => void send.run((e.currentTarget as HTMLInputElement).checked ? 1 : 0)}
          />
          <span>{name}</span>
        </label>
        {outcome}
      </div>
    );
  } else if (props.canWrite && spec) {
    control = (
      <Form class="inline-form" label={`Send ${name}`} onSubmit={submit}>
        {kind === 'choice' ? (
          <Select
            label={`New ${name}`}
            value={draft}
            onValue={edit}
            options={[
              { value: '', label: 'Choose…', disabled: true },
              ...(spec.values ?? []).map((v) => ({ value: v, label: v })),
            ]}
          />
        ) : kind === 'location' ? (
          <>
            <Field
              label={`Longitude of ${name}`}
              type="number"
              step="any"
              min={-180}
              max={180}
              required
              value={place.lon}
              onValue={(lon) => {
                setPlace({ ...place, lon });
                setSent(undefined);
              }}
            />
            <Field
              label={`Latitude of ${name}`}
              type="number"
              step="any"
              min={-90}
              max={90}
              required
              value={place.lat}
              onValue={(lat) => {
                setPlace({ ...place, lat });
                setSent(undefined);
              }}
            />
          </>
        ) : (
          <Field
            label={`New ${name}${range}`}
            type={kind === 'text' ? 'text' : 'number'}
            step={spec.type === 'int' ? 1 : 'any'}
            min={spec.min}
            max={spec.max}
            maxLength={255}
            required
            value={draft}
            onValue={edit}
          />
        )}
        {kind === 'slider' ? (
          <input
            type="range"
            class="slider"
            aria-label={`Slide ${name}`}
            min={spec.min}
            max={spec.max}
            step={spec.type === 'int' ? 1 : ((spec.max ?? 1) - (spec.min ?? 0)) / 100}
            value={
              draft === ''
                ? String(typeof current?.value === 'number' ? current.value : (spec.min ?? 0))
                : draft
            }
            onInput={(e) => edit((e.currentTarget as HTMLInputElement).value)}
          />
        ) : null}
        <Button
          type="submit"
          busy={send.busy}
          disabled={kind === 'location' ? place.lon === '' || place.lat === '' : draft === ''}
        >
          Send
        </Button>
        {outcome}
      </Form>
    );
  }
  return (
    <li class="datastream" data-control={spec ? kind : undefined}>
      <div class="datastream-now">
        <span class="datastream-name">{name}</span>
        <output class="datastream-value" data-datastream={name} aria-live="polite">
          {formatValue(current?.value)}
        </output>
        <span class="muted">{current ? formatAgo(current.at) : ''}</span>
      </div>
      {control}
    </li>
  );
}

function Details(props: { device: Device; template: Template | undefined }) {
  const d = props.device;
  const who = usePeople();
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
        <dd data-owner={d.ownerId ?? ''}>{who(d.ownerId)}</dd>
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
  // Sharing again with the same person changes the level of their share.
  const change = useAction(async (share: Share) => {
    await api.request('POST', path, {
      email: share.email,
      level: share.level === 'view' ? 'control' : 'view',
    });
    shares.reload();
  });
  return (
    <section aria-labelledby="shares-title" class="card">
      <h2 id="shares-title">Sharing</h2>
      <ErrorNotice error={shares.error ?? revoke.error ?? change.error} />
      {shares.data?.shares.length === 0 ? <p class="muted">Not shared with anyone.</p> : null}
      <ul class="plain-list" aria-label="Shared with">
        {(shares.data?.shares ?? []).map((s) => (
          <li key={s.id} data-share={s.email}>
            {s.email} · {s.level === 'control' ? 'view and control' : 'view'}{' '}
            <Button kind="quiet" busy={change.busy} onClick={() => void change.run(s)}>
              {s.level === 'view' ? `Let ${s.email} control it` : `Make it view-only for ${s.email}`}
            </Button>
            <Button kind="quiet" busy={revoke.busy} onClick={() => void revoke.run(s.id)}>
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

function Lifecycle(props: { device: Device; rights: ReturnType<typeof access> }) {
  const { route } = useLocation();
  const { rights } = props;
  const base = `/api/devices/${encodeURIComponent(props.device.id)}`;
  const [confirm, setConfirm] = useState<'reprovision' | 'delete' | undefined>(undefined);
  const [done, setDone] = useState('');
  const [token, setToken] = useState('');
  const offline = 'The device is offline: nothing was sent. Try again when it is online.';
  const command = useAction(async (kind: 'reconfigure' | 'reboot' | 'ping') => {
    setDone('');
    const { online } = await api.request<{ online: boolean }>('POST', `${base}/${kind}`);
    const told = {
      reconfigure: 'The device was told to return to provisioning mode.',
      reboot: 'The device was told to restart.',
      ping: 'A ping was sent to the device.',
    };
    setDone(online ? told[kind] : offline);
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
        {rights.control ? (
          <>
            <Button busy={command.busy} onClick={() => void command.run('reconfigure')}>
              Reconfigure Wi-Fi
            </Button>
            <Button busy={command.busy} onClick={() => void command.run('reboot')}>
              Restart
            </Button>
            <Button busy={command.busy} onClick={() => void command.run('ping')}>
              Ping
            </Button>
          </>
        ) : null}
        {rights.reprovision ? <Button onClick={() => setConfirm('reprovision')}>Re-provision…</Button> : null}
        {rights.remove ? (
          <Button kind="danger" onClick={() => setConfirm('delete')}>
            Delete…
          </Button>
        ) : null}
      </div>
      {done ? <Notice kind={done === offline ? 'warning' : 'success'}>{done}</Notice> : null}
      {token ? (
        <Notice kind="warning">
          New device token (shown once; the old one no longer works): <code class="secret">{token}</code>
        </Notice>
      ) : null}
      <ErrorNotice error={command.error} />
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
  const who = usePeople();
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
            <td>{who(e.actor)}</td>
            <td>
              {e.targetType} {e.targetType === 'user' ? who(e.targetId) : e.targetId}
            </td>
            <td>{e.ip ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

/**
 * The device's history: its audit events (ownership, settings) and the commands people sent it,
 * which the gateway keeps in a log of their own, merged newest first.
 */
function AuditTrail(props: { deviceId: string }) {
  const events = useLoad(
    async (signal) => {
      const query = `/api/audit?targetId=${encodeURIComponent(props.deviceId)}&limit=50`;
      const [audit, commands] = await Promise.all([
        api.get<{ events: AuditEvent[] }>(query, signal),
        api.get<{ events: AuditEvent[] }>(`${query}&log=devices`, signal),
      ]);
      return { events: [...audit.events, ...commands.events].sort((a, b) => b.at - a.at).slice(0, 50) };
    },
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
