/**
 * Products (templates) and their datastreams: the list, and the form that creates one or edits
 * one. Each page appears only for the permission the gateway requires for it, and the gateway
 * decides every request.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Datastream, Template } from '../api-types.js';
import { can } from '../session.js';
import { Button, ErrorNotice, Field, Form, Page, Select } from '../ui/components.js';
import { useAction, useLoad } from '../ui/hooks.js';
import { PlanUsageNote } from '../ui/plan-usage.js';

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
