/**
 * The export of a mint: one CSV (device id, name, template, token, claim code) and one QR image
 * of each claim code, named after its device, for printing labels. Written once, at mint time:
 * the gateway keeps only hashes and cannot produce the secrets again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import QRCode from 'qrcode';
import type { MintedDevice } from './static-token-service.js';

export type QrFormat = 'png' | 'svg';

const CSV_COLUMNS = ['deviceId', 'name', 'templateId', 'token', 'claimCode'] as const;

/** RFC 4180: quote a field that holds a comma, quote or line break; double inner quotes. */
const csvField = (value: string): string =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

export function mintCsv(devices: readonly MintedDevice[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const d of devices) lines.push(CSV_COLUMNS.map((c) => csvField(d[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** A file name from a device name: letters, digits, dot, dash, underscore; the rest become '-'. */
export const fileNameOf = (name: string): string =>
  name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 80) || 'device';

export async function qrImage(text: string, format: QrFormat): Promise<Buffer> {
  // Error correction M: survives a scuffed label and keeps the code small enough for 20 chars.
  if (format === 'svg')
    return Buffer.from(await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M' }));
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 8 });
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
