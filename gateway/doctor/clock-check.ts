/**
 * The clock: access tokens, provisioning sessions, links and TLS certificates all carry times, so a
 * box whose clock is wrong refuses good devices and accepts stale ones. A small board without a
 * battery-backed clock boots in 1970 (or in its image's build year) until NTP answers.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok, warn } from './doctor.js';

/** Nothing this Tether made can be older: a clock before it is certainly wrong. */
const EARLIEST = Date.UTC(2026, 0, 1);
/** A file written up to this far in "the future" is ordinary (a clock stepped by NTP). */
const SLACK_MS = 5 * 60_000;

export async function checkClock(dataDir: string, env: DoctorEnv): Promise<CheckResult> {
  const now = env.now();
  const shown = new Date(now).toISOString();
  const fix = 'Set the time (timedatectl set-ntp true, or date -s), then start the gateway.';
  if (now < EARLIEST) {
    return fail('clock', 'CLOCK_WRONG', `the clock says ${shown}, before this Tether was made. ${fix}`);
  }
  // The data folder's own files: written by this box, so its clock once read at least that.
  const newest = await newestWrite(dataDir, env);
  if (newest !== undefined && newest - now > SLACK_MS) {
    return fail(
      'clock',
      'CLOCK_WRONG',
      `the clock says ${shown}, but the data folder was written at ${new Date(newest).toISOString()}: the clock went back. ${fix}`,
    );
  }
  const synced = await env.timeSynchronized();
  if (synced === false) {
    return warn(
      'clock',
      `${shown}, but not kept by NTP: it will drift, and tokens and certificates depend on it. Turn on time sync (timedatectl set-ntp true).`,
    );
  }
  return ok('clock', `${shown}${synced ? ', kept by NTP' : ''}`);
}

async function newestWrite(dataDir: string, env: DoctorEnv): Promise<number | undefined> {
  let newest: number | undefined;
  for (const name of await env.files.list(dataDir)) {
    try {
      const { mtimeMs } = await stat(join(dataDir, name));
      newest = Math.max(newest ?? 0, mtimeMs);
    } catch {
      // gone meanwhile
    }
  }
  return newest;
}

/** systemd's view (timedatectl); undefined on a box without it. */
export function timeSynchronized(): Promise<boolean | undefined> {
  return new Promise((done) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }, (error, out) => {
      if (error) return done(undefined);
      const value = out.trim();
      done(value === 'yes' ? true : value === 'no' ? false : undefined);
    });
  });
}
