/**
 * proto-ver: the one unencrypted endpoint, answered before any session. Same JSON shape as the
 * esp-idf provisioning manager (wifi_prov_get_info_json): application labels at the top level, and
 * "prov" with ver, sec_ver, sec_patch_ver and cap. esp_prov reads prov.ver, prov.cap ("no_sec",
 * "no_pop", "wifi_scan") and prov.sec_patch_ver. Tether adds its own "tether" label.
 */
import { TetherError } from '../../shared/errors.js';
import { Endpoint } from './endpoints.js';
import type { SecurityVersion } from './messages/session-messages.js';

export const PROV_VERSION = 'v1.1';
export const TETHER_PROTOCOL_VERSION = '1';

export interface ProtoVersionInfo {
  prov: { ver: string; secVer?: SecurityVersion; secPatchVer: number; cap: string[] };
  tether?: { ver: string; activation: string; tmpl: string };
  /** The text as received. */
  raw: string;
}

export interface ProtoVersionFacts {
  secVer: SecurityVersion;
  /** Security 1 without a PoP. */
  noPop: boolean;
  wifiScan: boolean;
  templateId: string;
  activation: boolean;
}

export function buildProtoVersion(facts: ProtoVersionFacts): string {
  const cap: string[] = [];
  if (facts.secVer === 0) cap.push('no_sec');
  else if (facts.secVer === 1 && facts.noPop) cap.push('no_pop');
  if (facts.wifiScan) cap.push('wifi_scan');
  const info: Record<string, unknown> = {
    prov: { ver: PROV_VERSION, sec_ver: facts.secVer, sec_patch_ver: facts.secVer === 2 ? 1 : 0, cap },
  };
  if (facts.activation) {
    info.tether = { ver: TETHER_PROTOCOL_VERSION, activation: Endpoint.activation, tmpl: facts.templateId };
  }
  return JSON.stringify(info);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Parse a device's answer. A plain string (old firmware) is taken as the version alone. */
export function parseProtoVersion(raw: string): ProtoVersionInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { prov: { ver: raw.trim(), secPatchVer: 0, cap: [] }, raw };
  }
  if (!isRecord(parsed) || !isRecord(parsed.prov)) {
    throw new TetherError(
      'PROTOCOL_ERROR',
      'The device answered proto-ver without provisioning information.',
      {
        details: { raw: raw.slice(0, 200) },
      },
    );
  }
  const prov = parsed.prov;
  const secVer = prov.sec_ver;
  const info: ProtoVersionInfo = {
    prov: {
      ver: typeof prov.ver === 'string' ? prov.ver : '',
      secPatchVer: typeof prov.sec_patch_ver === 'number' ? prov.sec_patch_ver : 0,
      cap: Array.isArray(prov.cap) ? prov.cap.filter((c): c is string => typeof c === 'string') : [],
    },
    raw,
  };
  if (secVer === 0 || secVer === 1 || secVer === 2) info.prov.secVer = secVer;
  const tether = parsed.tether;
  if (isRecord(tether)) {
    info.tether = {
      ver: String(tether.ver ?? ''),
      activation: typeof tether.activation === 'string' ? tether.activation : Endpoint.activation,
      tmpl: String(tether.tmpl ?? ''),
    };
  }
  return info;
}
