/**
 * Static-token devices for makers: mint a batch into the org's pool and download, once, the CSV of
 * tokens (for flashing) and a printable sheet of claim-code QR labels; manage the pool.
 */

import { useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { CLAIM_QR_OPTIONS, fileNameOf, type MintedDeviceRow, mintCsv } from '../../../shared/mint-labels.js';
import { api } from '../api.js';
import type { Device, Template } from '../api-types.js';
import {
  Badge,
  Button,
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
import { PlanUsageNote } from '../ui/plan-usage.js';

function download(name: string, type: string, body: string): void {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One SVG sheet: a QR label per device with its name and claim code, three to a row, for printing. */
export async function labelSheet(devices: readonly MintedDeviceRow[]): Promise<string> {
  const cell = { w: 220, h: 260 };
  const columns = 3;
  const parts: string[] = [];
  for (const [i, d] of devices.entries()) {
    const x = (i % columns) * cell.w;
    const y = Math.floor(i / columns) * cell.h;
    const svg = await QRCode.toString(d.claimCode, { type: 'svg', ...CLAIM_QR_OPTIONS });
    const inner = svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
    const viewBox = /viewBox="([^"]+)"/.exec(svg)?.[1] ?? '0 0 33 33';
    parts.push(
      `<g transform="translate(${x} ${y})"><svg x="10" y="10" width="200" height="200" viewBox="${viewBox}">${inner}</svg>` +
        `<text x="110" y="228" text-anchor="middle" font-family="sans-serif" font-size="14">${escapeXml(d.name)}</text>` +
        `<text x="110" y="248" text-anchor="middle" font-family="monospace" font-size="13">${escapeXml(d.claimCode)}</text></g>`,
    );
  }
  const rows = Math.max(1, Math.ceil(devices.length / columns));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * cell.w}" height="${rows * cell.h}" viewBox="0 0 ${columns * cell.w} ${rows * cell.h}"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>`;
}

export function StaticTokensPage() {
  const templates = useLoad((signal) => api.get<{ templates: Template[] }>('/api/templates', signal), []);
  const pool = useLoad((signal) => api.get<{ devices: Device[] }>('/api/static-tokens', signal), []);
  const [templateId, setTemplateId] = useState('');
  const [count, setCount] = useState('10');
  const [prefix, setPrefix] = useState('');
  const [minted, setMinted] = useState<MintedDeviceRow[] | undefined>(undefined);
  const mint = useAction(async () => {
    const chosen = templateId || templates.data?.templates[0]?.id || '';
    const { devices } = await api.request<{ devices: MintedDeviceRow[] }>('POST', '/api/static-tokens', {
      templateId: chosen,
      count: Number(count),
      ...(prefix.trim() ? { namePrefix: prefix.trim() } : {}),
    });
    setMinted(devices);
    pool.reload();
  });
  const [reclaimable, setReclaimable] = useState<{ name: string; claimCode: string } | undefined>(undefined);
  const disclaim = useAction(async (device: Device) => {
    const result = await api.request<{ claimCode: string }>(
      'POST',
      `/api/static-tokens/${encodeURIComponent(device.id)}/disclaim`,
    );
    setReclaimable({ name: device.name, claimCode: result.claimCode });
    pool.reload();
  });
  const revoke = useAction(async (id: string) => {
    await api.request('DELETE', `/api/static-tokens/${encodeURIComponent(id)}`);
    pool.reload();
  });
  const stamp = new Date().toISOString().slice(0, 10);
  const who = usePeople();
  return (
    <Page title="Static tokens">
      <section class="card" aria-labelledby="mint-title">
        <h2 id="mint-title">Mint devices</h2>
        <PlanUsageNote limit="devices" changes={pool.data?.devices.length} />
        <p>
          Each device gets a token to flash into its firmware and a claim code for its label. Both are shown
          once, here: download them before you leave the page.
        </p>
        <Form label="Mint devices" onSubmit={() => void mint.run()}>
          <Select
            label="Product"
            value={templateId || templates.data?.templates[0]?.id || ''}
            onValue={setTemplateId}
            options={(templates.data?.templates ?? []).map((t) => ({
              value: t.id,
              label: `${t.name} (${t.id})`,
            }))}
          />
          <Field label="How many" type="number" min={1} max={500} required value={count} onValue={setCount} />
          <Field label="Name prefix (optional)" maxLength={100} value={prefix} onValue={setPrefix} />
          <ErrorNotice error={mint.error} />
          <Button kind="primary" type="submit" busy={mint.busy} disabled={!templates.data?.templates.length}>
            Mint
          </Button>
        </Form>
        {minted ? (
          <div class="minted">
            <Notice kind="success">Minted {minted.length} devices.</Notice>
            <div class="button-row">
              <Button onClick={() => download(`tokens-${stamp}.csv`, 'text/csv', mintCsv(minted))}>
                Download tokens (CSV)
              </Button>
              <Button
                onClick={() =>
                  void labelSheet(minted).then((svg) =>
                    download(
                      `labels-${fileNameOf(minted[0]?.name ?? 'devices')}-${stamp}.svg`,
                      'image/svg+xml',
                      svg,
                    ),
                  )
                }
              >
                Download QR labels (SVG)
              </Button>
            </div>
            <Table label="Minted devices">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Claim code</th>
                </tr>
              </thead>
              <tbody>
                {minted.map((d) => (
                  <tr key={d.deviceId}>
                    <td>{d.name}</td>
                    <td>
                      <code class="claim-code">{d.claimCode}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </div>
        ) : null}
      </section>
      <section class="card" aria-labelledby="pool-title">
        <h2 id="pool-title">Pool</h2>
        <ErrorNotice error={pool.error ?? disclaim.error ?? revoke.error} />
        {reclaimable ? (
          <Notice kind="warning">
            {reclaimable.name} is back in the pool. Its new claim code (shown once; the old label no longer
            works): <code class="claim-code">{reclaimable.claimCode}</code>
          </Notice>
        ) : null}
        {pool.data ? (
          <Table label="Static-token devices">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Owner</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pool.data.devices.map((d) => (
                <tr key={d.id}>
                  <td>{d.name}</td>
                  <td>
                    <Badge>{d.status}</Badge>
                  </td>
                  <td>{d.ownerId ? who(d.ownerId) : '—'}</td>
                  <td class="button-row">
                    {d.ownerId ? (
                      <Button
                        kind="quiet"
                        onClick={() => void disclaim.run(d)}
                        aria-label={`Disclaim ${d.name}`}
                      >
                        Disclaim
                      </Button>
                    ) : null}
                    {d.status !== 'revoked' ? (
                      <Button
                        kind="quiet"
                        onClick={() => void revoke.run(d.id)}
                        aria-label={`Revoke ${d.name}`}
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
      </section>
    </Page>
  );
}
