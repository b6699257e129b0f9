/** Devices: the ones this person may see, with live state and values, filters and pages. */
import { useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type { Device, Template } from '../api-types.js';
import { formatAgo, formatValue } from '../format.js';
import { useDeviceStream } from '../live.js';
import { can } from '../session.js';
import { Badge, Button, ErrorNotice, Loading, Page, Select } from '../ui/components.js';
import { useLoad } from '../ui/hooks.js';
import { PlanUsageNote } from '../ui/plan-usage.js';

export const PAGE_SIZE = 50;

export const statusTone = (status: Device['status']) =>
  status === 'active' ? 'good' : status === 'revoked' ? 'bad' : status === 'pending' ? 'warn' : 'neutral';

export function OnlineBadge(props: { online: boolean }) {
  return <Badge tone={props.online ? 'good' : 'neutral'}>{props.online ? 'online' : 'offline'}</Badge>;
}

/** Applies one push-stream event to a device (or says it left the page). */
export function applyDeviceEvent(
  device: Device,
  event: string,
  data: Record<string, unknown>,
): Device | null {
  switch (event) {
    case 'value': {
      const name = String(data.name);
      const values = {
        ...device.values,
        [name]: { value: data.value as string | number, at: Number(data.at) },
      };
      return { ...device, values, lastSeenAt: Number(data.at) || device.lastSeenAt };
    }
    case 'online':
      return { ...device, online: true, lastSeenAt: Number(data.at) || device.lastSeenAt };
    case 'offline':
      return { ...device, online: false, lastSeenAt: Number(data.at) || device.lastSeenAt };
    case 'changed':
    case 'activated':
      return { ...device, ...(data.device as Device) };
    case 'deleted':
    case 'removed':
      return null;
    default:
      return device;
  }
}

export function DevicesPage() {
  const { query, route } = useLocation();
  const page = Math.max(0, Number.parseInt(query.page ?? '0', 10) || 0);
  const status = query.status ?? '';
  const online = query.online ?? '';
  const templateId = query.template ?? '';
  const setQuery = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ ...query, ...changes });
    for (const [k, v] of [...next]) if (!v || (k === 'page' && v === '0')) next.delete(k);
    const text = next.toString();
    route(`${CONSOLE_PAGES.devices}${text ? `?${text}` : ''}`);
  };

  const templates = useLoad((signal) => api.get<{ templates: Template[] }>('/api/templates', signal), []);
  const list = useLoad(
    (signal) => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(page * PAGE_SIZE) });
      if (status) params.set('status', status);
      if (online) params.set('online', online);
      if (templateId) params.set('templateId', templateId);
      return api.get<{ devices: Device[]; total: number }>(`/api/devices?${params}`, signal);
    },
    [page, status, online, templateId],
  );
  const [live, setLive] = useState(new Map<string, Device | null>());
  const ids = useMemo(() => list.data?.devices.map((d) => d.id) ?? [], [list.data]);
  useDeviceStream(list.data ? { deviceIds: ids } : undefined, ({ event, data }) => {
    const id = String(data.deviceId ?? (data.device as Device | undefined)?.id ?? '');
    if (event === 'snapshot') {
      setLive(new Map((data.devices as Device[]).map((d) => [d.id, d])));
      return;
    }
    setLive((current) => {
      const before = current.get(id) ?? list.data?.devices.find((d) => d.id === id);
      if (!before) return current;
      const next = new Map(current);
      next.set(id, applyDeviceEvent(before, event, data));
      return next;
    });
  });

  const rows = (list.data?.devices ?? [])
    .map((d) => (live.has(d.id) ? live.get(d.id) : d))
    .filter((d): d is Device => d !== null && d !== undefined);
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const templateName = new Map((templates.data?.templates ?? []).map((t) => [t.id, t.name]));

  return (
    <Page
      title="Devices"
      actions={
        can('devices.provision') ? (
          <a class="button button-primary" href={CONSOLE_PAGES.addDevice}>
            Add a device
          </a>
        ) : null
      }
    >
      <PlanUsageNote limit="devices" changes={total} />
      <fieldset class="filters">
        <legend class="visually-hidden">Filter devices</legend>
        <Select
          label="State"
          value={status}
          onValue={(v) => setQuery({ status: v, page: '0' })}
          options={[
            { value: '', label: 'Any' },
            { value: 'active', label: 'Active' },
            { value: 'pending', label: 'Pending' },
            { value: 'unclaimed', label: 'Unclaimed' },
            { value: 'revoked', label: 'Revoked' },
          ]}
        />
        <Select
          label="Connection"
          value={online}
          onValue={(v) => setQuery({ online: v, page: '0' })}
          options={[
            { value: '', label: 'Any' },
            { value: 'true', label: 'Online' },
            { value: 'false', label: 'Offline' },
          ]}
        />
        <Select
          label="Product"
          value={templateId}
          onValue={(v) => setQuery({ template: v, page: '0' })}
          options={[
            { value: '', label: 'Any' },
            ...(templates.data?.templates ?? []).map((t) => ({ value: t.id, label: t.name })),
          ]}
        />
      </fieldset>
      <ErrorNotice error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && rows.length === 0 ? (
        <p class="empty">
          No devices here yet.{' '}
          {can('devices.provision') ? <a href={CONSOLE_PAGES.addDevice}>Add your first device.</a> : null}
        </p>
      ) : null}
      <ul class="device-list" aria-label="Devices">
        {rows.map((device) => (
          <li key={device.id} class="device-card">
            <div class="device-card-head">
              <a class="device-name" href={`/devices/${encodeURIComponent(device.id)}`}>
                {device.name}
              </a>
              <OnlineBadge online={device.online} />
              <Badge tone={statusTone(device.status)}>{device.status}</Badge>
            </div>
            <p class="muted">
              {templateName.get(device.templateId) ?? device.templateId} · seen {formatAgo(device.lastSeenAt)}
            </p>
            <dl class="values">
              {Object.entries(device.values)
                .slice(0, 4)
                .map(([name, v]) => (
                  <div key={name}>
                    <dt>{name}</dt>
                    <dd data-datastream={name}>{formatValue(v.value)}</dd>
                  </div>
                ))}
            </dl>
          </li>
        ))}
      </ul>
      {total > PAGE_SIZE ? (
        <nav class="pager" aria-label="Pages">
          <Button disabled={page === 0} onClick={() => setQuery({ page: String(page - 1) })}>
            Previous
          </Button>
          <span aria-live="polite">
            Page {page + 1} of {pages} · {total} devices
          </span>
          <Button disabled={page + 1 >= pages} onClick={() => setQuery({ page: String(page + 1) })}>
            Next
          </Button>
        </nav>
      ) : list.data ? (
        <p class="muted">{total === 1 ? '1 device' : `${total} devices`}</p>
      ) : null}
    </Page>
  );
}
