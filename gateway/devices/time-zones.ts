/**
 * Blynk's `get/utc/all/json` answer for a time zone: the current time with the zone's POSIX TZ
 * rule and offsets. The rule comes from the system's tz database (Debian's tzdata, kept current by
 * the distribution): TZif files of version 2 and later end with a newline-enclosed POSIX TZ string
 * for times after the last transition (RFC 8536 §3.3, "TZ string footer"). Offsets now come from
 * the JavaScript engine's own tz data (Intl), so they agree with the rule for the present.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** Blynk's payload (device MQTT API, "Timezone/Location"). */
export interface UtcAnswer {
  tz_name: string;
  tz_rule: string;
  /** Standard offset from UTC in minutes (DST not counted). */
  tz_offset: number;
  /** Minutes added by daylight saving time now; 0 when it is not in effect. */
  dst_offset: number;
  time: number;
  iso8601: string;
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;

/** The footer is short ("AST4ADT,M3.2.0,M11.1.0"); this many bytes from the end always hold it. */
const FOOTER_BYTES = 256;

export class TimeZones {
  readonly #rules = new Map<string, string | null>();
  /** Names found valid (the tz database has a few hundred). */
  readonly #known = new Set<string>();

  constructor(private readonly zoneinfoDir = '/usr/share/zoneinfo') {}

  /**
   * An IANA zone name the JavaScript engine knows, aliases included ("Europe/Kyiv", "UTC");
   * anything else is refused. The shape check also keeps the name a safe path below zoneinfo.
   */
  isZone(name: string): boolean {
    if (this.#known.has(name)) return true;
    if (!isTimeZoneName(name)) return false;
    // Intl also takes other spellings ("europe/kyiv"): remember only so many.
    if (this.#known.size < 2_000) this.#known.add(name);
    return true;
  }

  /**
   * The zone at a place, from its coordinates. The lookup's map (≈ 5 MB in memory) is loaded on
   * the first question: most gateways never get one (only get/utc of a located device asks).
   */
  async zoneAt(lat: number, lon: number): Promise<string | undefined> {
    try {
      const { default: tzLookup } = await import('@photostructure/tz-lookup');
      const zone = tzLookup(lat, lon);
      return this.isZone(zone) ? zone : undefined;
    } catch {
      return undefined;
    }
  }

  /** Blynk's answer for `zone` at `now`; UTC for a zone this gateway does not know. */
  async answer(zone: string, now: number): Promise<UtcAnswer> {
    const name = this.isZone(zone) ? zone : 'UTC';
    const rule = (await this.posixRule(name)) ?? (name === 'UTC' || name === 'Etc/UTC' ? 'UTC0' : undefined);
    const current = currentOffsetMinutes(name, now);
    const standard = rule === undefined ? current : (standardOffsetMinutes(rule) ?? current);
    return {
      tz_name: name,
      tz_rule: rule ?? '',
      tz_offset: standard,
      dst_offset: current - standard,
      time: now,
      iso8601: localIso(now, current),
    };
  }

  /** The POSIX TZ string of a zone from its TZif file; undefined when the database lacks it. */
  async posixRule(zone: string): Promise<string | undefined> {
    if (!this.isZone(zone)) return undefined;
    const cached = this.#rules.get(zone);
    if (cached !== undefined) return cached ?? undefined;
    const rule = await readFooter(join(this.zoneinfoDir, zone));
    if (this.#rules.size < 2_000) this.#rules.set(zone, rule ?? null);
    return rule;
  }
}

/** An IANA time zone name (aliases included) that the JavaScript engine knows. */
export function isTimeZoneName(name: string): boolean {
  if (!ZONE_NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

async function readFooter(path: string): Promise<string | undefined> {
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    file = await open(path, 'r');
    // RFC 8536 §3.1: "TZif", then the version; version 1 files have no footer.
    const magic = Buffer.alloc(5);
    await file.read(magic, 0, 5, 0);
    if (magic.subarray(0, 4).toString('latin1') !== 'TZif' || magic[4] === 0) return undefined;
    const { size } = await file.stat();
    const length = Math.min(size, FOOTER_BYTES);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    const text = buffer.toString('latin1');
    if (!text.endsWith('\n')) return undefined;
    const start = text.lastIndexOf('\n', text.length - 2);
    const footer = text.slice(start + 1, -1);
    return /^[\x21-\x7e]{1,64}$/.test(footer) ? footer : undefined;
  } catch {
    return undefined;
  } finally {
    await file?.close();
  }
}

/** The zone's offset from UTC at `now`, in minutes (DST included). */
function currentOffsetMinutes(zone: string, now: number): number {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(now))
    .find((p) => p.type === 'timeZoneName')?.value;
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(part ?? '');
  if (!match) return 0; // "GMT" alone: UTC
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

/**
 * The standard offset of a POSIX TZ string, in minutes east of UTC: "AST4ADT,…" → -240,
 * "<+0330>-3:30" → 210 (POSIX counts west of Greenwich as positive).
 */
export function standardOffsetMinutes(rule: string): number | undefined {
  const match = /^(?:<[^>]{1,16}>|[A-Za-z]{3,})([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?/.exec(rule);
  if (!match) return undefined;
  const west = Number(match[2]) * 60 + Number(match[3] ?? 0) + Math.round(Number(match[4] ?? 0) / 60);
  return (match[1] === '-' ? west : -west) || 0; // never -0
}

/** ISO 8601 local time with its offset, as Blynk writes it: 2024-03-01T16:47:57-04:00. */
function localIso(now: number, offsetMinutes: number): string {
  const local = new Date(Math.floor(now / 1000) * 1000 + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
