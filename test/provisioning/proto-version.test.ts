import { describe, expect, it } from 'vitest';
import { buildProtoVersion, parseProtoVersion } from '../../provisioning/protocol/proto-version.js';

describe('proto-ver', () => {
  it('advertises what esp_prov reads: prov.ver, sec_ver, sec_patch_ver and caps', () => {
    const base = { noPop: false, wifiScan: true, templateId: 'TMPL1', activation: true };
    expect(JSON.parse(buildProtoVersion({ ...base, secVer: 2 }))).toEqual({
      prov: { ver: 'v1.1', sec_ver: 2, sec_patch_ver: 1, cap: ['wifi_scan'] },
      tether: { ver: '1', activation: 'tether-activation', tmpl: 'TMPL1' },
    });
    expect(JSON.parse(buildProtoVersion({ ...base, secVer: 0 })).prov.cap).toEqual(['no_sec', 'wifi_scan']);
    expect(JSON.parse(buildProtoVersion({ ...base, secVer: 1, noPop: true })).prov.cap).toEqual([
      'no_pop',
      'wifi_scan',
    ]);
    expect(JSON.parse(buildProtoVersion({ ...base, secVer: 1, activation: false })).tether).toBeUndefined();
  });

  it('reads esp-idf answers, plain version strings, and refuses JSON without "prov"', () => {
    const idf = parseProtoVersion('{"prov":{"ver":"v1.1","sec_ver":1,"cap":["wifi_scan","no_pop"]}}');
    expect(idf.prov).toEqual({ ver: 'v1.1', secVer: 1, secPatchVer: 0, cap: ['wifi_scan', 'no_pop'] });
    expect(parseProtoVersion('V0.1').prov).toEqual({ ver: 'V0.1', secPatchVer: 0, cap: [] });
    expect(() => parseProtoVersion('{"x":1}')).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });
});
