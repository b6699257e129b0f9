/**
 * The crash test (`npm run test:crash`): a real `tether gateway start` process takes a stream of
 * changes over HTTP and is killed with SIGKILL at a random moment, again and again; after every
 * restart, each change it acknowledged (a 2xx) must be there — templates created, templates
 * deleted, static-token devices minted, whose tokens must still open an MQTT connection.
 * Compaction is set to run often, so kills also land in the middle of snapshot writes.
 * Commands to devices (datastream writes) run in the stream too: their device-activity records
 * are telemetry, journaled with the telemetry window, so a kill may lose the last window of them
 * and nothing here expects them back; but none may come back twice (a compaction and the window
 * both writing it), and none may cost an acknowledged change.
 *
 * TETHER_CRASH_KILLS (default 24) and TETHER_CRASH_SEED choose the run; a failure prints the seed.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/run-cli.js';

const KILLS = Number(process.env.TETHER_CRASH_KILLS ?? 24);
const SEED = Number(process.env.TETHER_CRASH_SEED ?? randomInt(2 ** 31));
const ADMIN = { email: 'crash@example.com', password: 'a long crash password' };
const IN_FLIGHT = 8;

/** mulberry32: the run's random moments from one printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Gw {
  base: string;
  mqttUrl: string;
  kill: () => Promise<void>;
}

async function startGateway(dataDir: string): Promise<Gw> {
  const { child, match } = await startCli(
    ['gateway', 'start', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0'],
    {
      TETHER_ADMIN_EMAIL: ADMIN.email,
      TETHER_ADMIN_PASSWORD: ADMIN.password,
      TETHER_LOG_LEVEL: 'warn',
      TETHER_HTTP_HOST: '127.0.0.1',
      TETHER_MQTT_HOST: '127.0.0.1',
      TETHER_STORE_COMPACT_MIN_BYTES: '4096',
      // Telemetry windows close within the half second a gateway lives here, among compactions.
      TETHER_STORE_TELEMETRY_FLUSH_DELAY_MS: '100',
    },
    /HTTP API\s+(http:\/\/\S+)[\s\S]*MQTT\s+(mqtt:\/\/\S+)/,
    30_000,
  );
  return {
    base: match[1]!,
    mqttUrl: match[2]!,
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

async function call(gw: Gw, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${gw.base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

describe('kill -9 at random moments', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged change across ${KILLS} kills (seed ${SEED})`, {
    timeout: KILLS * 20_000,
  }, async () => {
    const random = prng(SEED);
    const dataDir = await mkdtemp(join(tmpdir(), 'tether-crash-'));
    dirs.push(dataDir);
    /** What the gateway acknowledged (a 2xx): each must survive every later kill. */
    const templates = new Map<string, number>(); // id → last acknowledged rename version
    const orgs = new Set<string>();
    const deletedOrgs = new Set<string>();
    const devices = new Map<string, string>(); // id → token
    let deviceTemplate: string | undefined;
    let acknowledged = 0;
    let commands = 0;
    let token: string | undefined;
    const pick = <T>(items: Iterable<T>): T | undefined => {
      const all = [...items];
      return all[Math.floor(random() * all.length)];
    };

    for (let kill = 0; kill <= KILLS; kill++) {
      const gw = await startGateway(dataDir);
      if (!token) {
        // One login: its access token outlives restarts (the signing key is in the data folder).
        const login = await call(gw, 'POST', '/api/auth/login', ADMIN);
        expect(login.status, `seed ${SEED}: login`).toBe(200);
        token = String(login.body.accessToken);
      }
      const why = (what: string) => `seed ${SEED}, after kill ${kill}: ${what}`;

      // Everything acknowledged before the kill is there, as acknowledged.
      const listed = await call(gw, 'GET', '/api/templates', undefined, token);
      const names = new Map(
        (listed.body.templates as Array<{ id: string; name: string }>).map((t) => [t.id, t.name]),
      );
      for (const [id, version] of templates) {
        expect(names.has(id), why(`template ${id} missing`)).toBe(true);
        const found = Number(/ v(\d+)$/.exec(names.get(id) ?? '')?.[1] ?? 0);
        expect(found, why(`template ${id} lost its rename to v${version}`)).toBeGreaterThanOrEqual(version);
      }
      const orgList = await call(gw, 'GET', '/api/orgs', undefined, token);
      const orgIds = new Set((orgList.body.orgs as Array<{ id: string }>).map((o) => o.id));
      expect(
        [...orgs].filter((id) => !orgIds.has(id)),
        why('orgs missing'),
      ).toEqual([]);
      expect(
        [...deletedOrgs].filter((id) => orgIds.has(id)),
        why('deleted orgs back'),
      ).toEqual([]);
      const deviceList = await call(gw, 'GET', '/api/devices?limit=5000', undefined, token);
      const deviceIds = new Set((deviceList.body.devices as Array<{ id: string }>).map((d) => d.id));
      expect(
        [...devices.keys()].filter((id) => !deviceIds.has(id)),
        why('devices missing'),
      ).toEqual([]);
      const activity = await call(gw, 'GET', '/api/audit?log=devices&limit=1000', undefined, token);
      expect(activity.status, why('device activity readable')).toBe(200);
      const activityIds = (activity.body.events as Array<{ id: string }>).map((e) => e.id);
      expect(activityIds.length - new Set(activityIds).size, why('device-activity events twice')).toBe(0);
      const deviceToken = pick(devices.values());
      if (deviceToken) {
        // A token minted in any earlier cycle still opens a connection: no device orphaned.
        const client = await mqtt.connectAsync(gw.mqttUrl, {
          username: 'device',
          password: deviceToken,
          reconnectPeriod: 0,
          connectTimeout: 5_000,
        });
        await client.endAsync();
      }
      if (kill === KILLS) {
        await gw.kill();
        break;
      }

      // A stream of changes, IN_FLIGHT at a time, until the kill lands.
      let running = true;
      const renames = new Map<string, number>();
      // One rename per template in flight: two concurrent renames of one template may take effect
      // in either order (both acknowledged, the later-sent one first), so only a rename sent after
      // the previous one was acknowledged must win.
      const renaming = new Set<string>();
      const worker = async (w: number) => {
        for (let n = 0; running; n++) {
          const roll = random();
          const idle = [...templates.keys()].filter((id) => !renaming.has(id));
          try {
            if (roll < 0.2 && idle.length > 0) {
              const id = pick(idle)!;
              const version = (renames.get(id) ?? templates.get(id)!) + 1;
              renames.set(id, version);
              renaming.add(id);
              const res = await call(
                gw,
                'PATCH',
                `/api/templates/${id}`,
                { name: `T ${id} v${version}` },
                token,
              ).finally(() => renaming.delete(id));
              if (res.status === 200) {
                templates.set(id, Math.max(templates.get(id) ?? 0, version));
                acknowledged++;
              }
            } else if (roll < 0.35 && deviceTemplate) {
              const res = await call(
                gw,
                'POST',
                '/api/static-tokens',
                { templateId: deviceTemplate, count: 3 },
                token,
              );
              if (res.status === 201 || res.status === 200) {
                for (const d of res.body.devices as Array<{ deviceId: string; token: string }>)
                  devices.set(d.deviceId, d.token);
                acknowledged++;
              }
            } else if (roll < 0.45 && devices.size > 0) {
              const id = pick(devices.keys())!;
              const res = await call(gw, 'PUT', `/api/devices/${id}/datastreams/temp`, { value: n }, token);
              // Acknowledged commands are counted apart: their history may be lost with the window.
              if (res.status === 200) commands++;
            } else if (roll < 0.5) {
              const res = await call(gw, 'POST', '/api/orgs', { name: `Org ${kill}-${w}-${n}` }, token);
              if (res.status === 201) {
                orgs.add(String(res.body.id));
                acknowledged++;
              }
            } else if (roll < 0.6 && orgs.size > 0) {
              const id = pick(orgs)!;
              orgs.delete(id);
              const res = await call(gw, 'DELETE', `/api/orgs/${id}`, undefined, token);
              if (res.status === 200) {
                deletedOrgs.add(id);
                acknowledged++;
              }
            } else {
              const res = await call(
                gw,
                'POST',
                '/api/templates',
                { name: `T ${kill}-${w}-${n} v0`, datastreams: [{ name: 'temp', type: 'double' }] },
                token,
              );
              if (res.status === 201) {
                const id = String(res.body.id);
                if (deviceTemplate) templates.set(id, 0);
                else deviceTemplate = id;
                acknowledged++;
              }
            }
          } catch {
            // The connection died with the process: that change was never acknowledged.
            return;
          }
        }
      };
      const load = Array.from({ length: IN_FLIGHT }, (_, w) => worker(w));
      await new Promise((resolve) => setTimeout(resolve, 80 + random() * 500));
      await gw.kill();
      running = false;
      await Promise.all(load);
    }
    expect(acknowledged, 'changes acknowledged in all').toBeGreaterThan(KILLS * 2);
    expect(commands, 'commands acknowledged in all').toBeGreaterThan(0);
  });
});
