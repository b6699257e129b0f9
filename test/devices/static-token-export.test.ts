/** The mint export: a CSV and one QR image per device, named after the device. */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileNameOf, mintCsv, writeMintExport } from '../../gateway/devices/static-token-export.js';
import type { MintedDevice } from '../../gateway/devices/static-token-service.js';

const devices: MintedDevice[] = [
  {
    deviceId: 'dev_a',
    name: 'Heater 0001',
    templateId: 'TMPL12345678',
    token: 't'.repeat(32),
    claimCode: 'ABCD-EFGH-JKLM-NPQR-STUV',
  },
  {
    deviceId: 'dev_b',
    name: 'Heater, "deluxe"',
    templateId: 'TMPL12345678',
    token: 'u'.repeat(32),
    claimCode: 'BBBB-CCCC-DDDD-EEEE-FFFF',
  },
];

describe('static-token export', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-mint-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an RFC 4180 CSV', () => {
    expect(mintCsv(devices).split('\r\n')).toEqual([
      'deviceId,name,templateId,token,claimCode',
      `dev_a,Heater 0001,TMPL12345678,${'t'.repeat(32)},ABCD-EFGH-JKLM-NPQR-STUV`,
      `dev_b,"Heater, ""deluxe""",TMPL12345678,${'u'.repeat(32)},BBBB-CCCC-DDDD-EEEE-FFFF`,
      '',
    ]);
  });

  it('writes PNG QR images named after each device, readable only by the owner', async () => {
    const out = await writeMintExport(dir, devices);
    expect((await readdir(dir)).sort()).toEqual(['Heater-0001.png', 'Heater-deluxe.png', 'tokens.csv']);
    const png = await readFile(out.images[0]!);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect((await stat(out.csv)).mode & 0o777).toBe(0o600);
    // A second batch appends rows without a second header.
    await writeMintExport(dir, [{ ...devices[0]!, deviceId: 'dev_c', name: 'Heater 0003' }], {
      append: true,
    });
    const csv = await readFile(out.csv, 'utf8');
    expect(csv.match(/deviceId,name/g)).toHaveLength(1);
    expect(csv).toContain('dev_c,Heater 0003');
  });

  it('writes SVG on request and keeps names unique and safe', async () => {
    const out = await writeMintExport(dir, [devices[0]!, { ...devices[0]!, deviceId: 'dev_z' }], {
      format: 'svg',
    });
    expect(out.images.map((f) => f.slice(dir.length + 1))).toEqual([
      'Heater-0001.svg',
      'Heater-0001-dev_z.svg',
    ]);
    expect(await readFile(out.images[0]!, 'utf8')).toMatch(/^<svg/);
    expect(fileNameOf('../../etc/passwd')).toBe('etc-passwd');
  });
});
