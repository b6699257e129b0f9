/**
 * get/utc/all/json in Blynk's shape, with POSIX rules read from the system's tz database. The
 * known answer is Blynk's own documented example (device MQTT API, "Timezone/Location").
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { standardOffsetMinutes, TimeZones } from '../../gateway/devices/time-zones.js';

describe('time zones for get/utc/all/json', () => {
  const zones = new TimeZones();

  it('has the tz database (tzdata) to read rules from', () => {
    // CI installs tzdata (.ci/run); without it tz_rule would be empty.
    expect(existsSync('/usr/share/zoneinfo/America/Goose_Bay')).toBe(true);
  });

  it('answers Blynk’s documented example exactly', async () => {
    expect(await zones.answer('America/Goose_Bay', 1709326077759)).toEqual({
      tz_name: 'America/Goose_Bay',
      tz_rule: 'AST4ADT,M3.2.0,M11.1.0',
      tz_offset: -240,
      dst_offset: 0,
      time: 1709326077759,
      iso8601: '2024-03-01T16:47:57-04:00',
    });
  });

  it('reports daylight saving time in effect, and zones east of Greenwich', async () => {
    const july = Date.UTC(2024, 6, 1, 12, 0, 0);
    expect(await zones.answer('America/Goose_Bay', july)).toMatchObject({ tz_offset: -240, dst_offset: 60 });
    expect(await zones.answer('Europe/Kyiv', july)).toMatchObject({
      tz_rule: 'EET-2EEST,M3.5.0/3,M10.5.0/4',
      tz_offset: 120,
      dst_offset: 60,
      iso8601: '2024-07-01T15:00:00+03:00',
    });
    expect(await zones.answer('Asia/Kolkata', july)).toMatchObject({ tz_offset: 330, dst_offset: 0 });
  });

  it('answers UTC for UTC and for anything that is not a zone, never a path', async () => {
    const now = Date.UTC(2024, 0, 1);
    expect(await zones.answer('UTC', now)).toEqual({
      tz_name: 'UTC',
      tz_rule: 'UTC0',
      tz_offset: 0,
      dst_offset: 0,
      time: now,
      iso8601: '2024-01-01T00:00:00Z',
    });
    for (const name of ['../../etc/passwd', 'Europe/../../etc/passwd', 'Not/AZone', '', 'constructor'])
      expect((await zones.answer(name, now)).tz_name, name).toBe('UTC');
    expect(await zones.posixRule('../../etc/passwd')).toBeUndefined();
  });

  it('finds the zone at a place', async () => {
    expect(await zones.zoneAt(50.45, 30.52)).toBe('Europe/Kyiv');
    expect(await zones.zoneAt(999, 0)).toBeUndefined();
  });

  it('reads the standard offset of POSIX TZ strings', () => {
    expect(standardOffsetMinutes('AST4ADT,M3.2.0,M11.1.0')).toBe(-240);
    expect(standardOffsetMinutes('<+0330>-3:30')).toBe(210);
    expect(standardOffsetMinutes('IST-5:30')).toBe(330);
    expect(standardOffsetMinutes('UTC0')).toBe(0);
    expect(standardOffsetMinutes('???')).toBeUndefined();
  });
});
