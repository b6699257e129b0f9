/**
 * The export of a mint: one CSV (device id, name, template, token, claim code) and one QR image
 * of each claim code, named after its device, for printing labels. Written once, at mint time:
 * the gateway keeps only hashes and cannot produce the secrets again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { CLAIM_QR_OPTIONS, fileNameOf, mintCsv } from '../../shared/mint-labels.js';
import type { MintedDevice } from './static-token-service.js';

export { fileNameOf, mintCsv };

export type QrFormat = 'png' | 'svg';

export async function qrImage(text: string, format: QrFormat): Promise<Buffer> {
  if (format === 'svg') return Buffer.from(await QRCode.toString(text, { type: 'svg', ...CLAIM_QR_OPTIONS }));
  return QRCode.toBuffer(text, { type: 'png', ...CLAIM_QR_OPTIONS, scale: 8 });
}

/**
 * Writes `tokens.csv` (appending rows when `append`) and `<device name>.<format>` per device into
 * `dir`; returns the image paths. Files are mode 0600: the CSV holds device tokens.
 */
export async function writeMintExport(
  dir: string,
  devices: readonly MintedDevice[],
  options: { format?: QrFormat; append?: boolean } = {},
): Promise<{ csv: string; images: string[] }> {
  const format = options.format ?? 'png';
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const csv = join(dir, 'tokens.csv');
  const body = mintCsv(devices);
  await writeFile(csv, options.append ? body.slice(body.indexOf('\r\n') + 2) : body, {
    mode: 0o600,
    flag: options.append ? 'a' : 'w',
  });
  const images: string[] = [];
  const used = new Set<string>();
  for (const d of devices) {
    let base = fileNameOf(d.name);
    if (used.has(base)) base = `${base}-${d.deviceId}`;
    used.add(base);
    const file = join(dir, `${base}.${format}`);
    await writeFile(file, await qrImage(d.claimCode, format), { mode: 0o600 });
    images.push(file);
  }
  return { csv, images };
}
