/**
 * The audit log, filtered by log, organization, action family, person, time and target. Each page
 * appears only for the permission the gateway requires for it, and the gateway decides every
 * request.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { AuditEvent, PublicUser } from '../api-types.js';
import { Button, ErrorNotice, Field, Form, Loading, Notice, Page, Select } from '../ui/components.js';
import { useLoad } from '../ui/hooks.js';
import { AuditTable } from './device-page.js';
import { useOrgs } from './org-data.js';

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
