/**
 * What a static-token mint exports, as text: the CSV of tokens and claim codes and the file name of
 * each label. The CLI writes them to a folder (gateway/devices/static-token-export.ts); the web
 * console offers them as downloads. Both build them here, so the two exports are the same.
 */

export interface MintedDeviceRow {
  deviceId: string;
  name: string;
  templateId: string;
  token: string;
  claimCode: string;
}

const CSV_COLUMNS = ['deviceId', 'name', 'templateId', 'token', 'claimCode'] as const;

/** RFC 4180: quote a field that holds a comma, quote or line break; double inner quotes. */
const csvField = (value: string): string =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

export function mintCsv(devices: readonly MintedDeviceRow[]): string {
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

/** Error correction M: survives a scuffed label and keeps the code small enough for 20 characters. */
export const CLAIM_QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;
