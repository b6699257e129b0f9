/**
 * `tether doctor`: every check, passing and failing, on real files, real sockets, a real SMTP
 * server and real certificates; only what this machine cannot be made to show (a clock in 2001,
 * a missing Bluetooth adapter, a full disk) comes through DoctorEnv. Then the command itself:
 * one line per check, --json, and the exit code of the first failure.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, type DoctorEnv, doctorExitCode, runDoctor } from '../../gateway/doctor/doctor.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { FaultyStoreFiles } from '../../gateway/store/store-files.js';
import { loadConfig, type TetherConfig } from '../../shared/config.js';
import { ExitCode } from '../../shared/errors.js';
import { removeAll, tempDir } from '../store/store-files-support.js';
import { startTestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres } from '../support/postgres-server.js';
import { SKIP_REDIS, startRedis } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { makeSelfSignedCert, toolAvailable } from '../support/tls-cert.js';

const HAS_OPENSSL = toolAvailable('openssl', 'openssl');
const DAY = 86_400_000;

const configFor = (dataDir: string, overrides: Record<string, unknown> = {}): TetherConfig =>
  loadConfig({
    env: {},
    overrides: {
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      ...overrides,
    },
  });

/** A machine where everything is in order, unless a test says otherwise. */
const healthy = (overrides: Partial<DoctorEnv> = {}): Partial<DoctorEnv> => ({
  timeSynchronized: async () => true,
  freeBytes: async () => 50 * 2 ** 30,
  findExecutable: async (command) => `/usr/bin/${command}`,
  bluetoothLibrary: () => true,
  ...overrides,
});

const only = (results: CheckResult[], check: string) => {
  const found = results.filter((r) => r.check === check);
  expect(found, `${check} in ${JSON.stringify(results)}`).toHaveLength(1);
  return found[0]!;
};

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('tether doctor', () => {
  const dirs: string[] = [];
  let bluetooth: string;
  let noBluetooth: string;
  const dir = async () => {
    const d = await tempDir('tether-doctor-');
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    bluetooth = await dir();
    await mkdir(join(bluetooth, 'hci0'));
    noBluetooth = await dir();
  });
  afterAll(() => removeAll(dirs));

  it('passes on a healthy box, one line per check, exit code 0', async () => {
    const dataDir = await dir();
    const results = await runDoctor(configFor(dataDir), healthy({ sysBluetoothDir: bluetooth }));
    expect(results.map((r) => r.check)).toEqual([
      'clock',
      'data folder',
      'store',
      'port http',
      'port mqtt',
      'tls',
      'mail',
      'public url',
      'wifi tools',
      'bluetooth',
    ]);
    expect(
      results.filter((r) => r.status !== 'ok'),
      JSON.stringify(results),
    ).toEqual([]);
    expect(doctorExitCode(results)).toBe(ExitCode.ok);
  });

  it('clock: before this release, behind the data folder, or not kept by NTP', async () => {
    const dataDir = await dir();
    const in2001 = await runDoctor(configFor(dataDir), healthy({ now: () => Date.UTC(2001, 0, 1) }));
    expect(only(in2001, 'clock')).toMatchObject({ status: 'fail', code: 'CLOCK_WRONG' });
    expect(only(in2001, 'clock').message).toContain('2001-01-01');
    expect(doctorExitCode(in2001)).toBe(ExitCode.unavailable);

    // A store written "tomorrow": the clock went back since.
    await writeFile(join(dataDir, 'tether.json'), '');
    const tomorrow = new Date(Date.now() + DAY);
    await utimes(join(dataDir, 'tether.json'), tomorrow, tomorrow);
    const back = await runDoctor(configFor(dataDir), healthy());
    expect(only(back, 'clock')).toMatchObject({ status: 'fail', code: 'CLOCK_WRONG' });
    expect(only(back, 'clock').message).toContain('the clock went back');

    const drifting = await runDoctor(
      configFor(await dir()),
      healthy({ timeSynchronized: async () => false }),
    );
    expect(only(drifting, 'clock')).toMatchObject({ status: 'warn' });
    expect(doctorExitCode(drifting)).toBe(ExitCode.ok);
  });

  it('data folder: not writable, or too little free space', async () => {
    const dataDir = await dir();
    const files = new FaultyStoreFiles();
    files.fail('EACCES', ['create']);
    const locked = await runDoctor(configFor(dataDir), healthy({ files }));
    expect(only(locked, 'data folder')).toMatchObject({ status: 'fail', code: 'STORE_UNAVAILABLE' });
    expect(only(locked, 'data folder').message).toContain('not writable (EACCES)');

    const full = await runDoctor(configFor(dataDir), healthy({ freeBytes: async () => 10 * 2 ** 20 }));
    expect(only(full, 'data folder')).toMatchObject({ status: 'fail', code: 'STORE_UNAVAILABLE' });
    expect(only(full, 'data folder').message).toMatch(/only 10 MiB free.*needs 100 MiB/);

    // A folder not made yet is fine when its parent takes it.
    const later = await runDoctor(configFor(join(dataDir, 'not', 'yet')), healthy());
    expect(only(later, 'data folder')).toMatchObject({ status: 'ok' });
  });

  it('store: loads a real database, refuses a damaged one as the gateway would', async () => {
    const dataDir = await dir();
    const store = new EmbeddedStore({ file: join(dataDir, 'tether.json') });
    await store.open();
    await store.close();
    const loads = await runDoctor(configFor(dataDir), healthy());
    expect(only(loads, 'store')).toMatchObject({ status: 'ok' });
    expect(only(loads, 'store').message).toMatch(/loads: schema \d+, 0 organizations/);

    const damaged = await dir();
    await writeFile(join(damaged, 'tether.json'), '{"schemaVersion": 1, "users": null}');
    const before = await readFile(join(damaged, 'tether.json'), 'utf8');
    const refused = await runDoctor(configFor(damaged), healthy());
    expect(only(refused, 'store')).toMatchObject({ status: 'fail', code: 'STORE_INVALID' });
    expect(doctorExitCode(refused)).toBe(ExitCode.usage);
    expect(await readFile(join(damaged, 'tether.json'), 'utf8')).toBe(before);
  });

  it('ports: free, taken by another program, or served by the gateway holding the folder', async () => {
    const other = createServer();
    const taken = await listen(other);
    try {
      const results = await runDoctor(
        configFor(await dir(), {
          http: { host: '127.0.0.1', port: taken },
          mqtt: { host: '127.0.0.1', port: 0 },
        }),
        healthy(),
      );
      expect(only(results, 'port http')).toMatchObject({ status: 'fail', code: 'ADDRESS_IN_USE' });
      expect(only(results, 'port http').message).toContain(`127.0.0.1:${taken} is in use by another program`);
      expect(only(results, 'port mqtt')).toMatchObject({ status: 'ok' });
      expect(doctorExitCode(results)).toBe(ExitCode.unavailable);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }

    const gw = await startTestGateway();
    try {
      const running = await runDoctor(
        configFor(gw.dataDir, {
          http: { host: '127.0.0.1', port: gw.gateway.httpPort },
          mqtt: { host: '127.0.0.1', port: gw.gateway.mqttPort },
        }),
        healthy(),
      );
      for (const check of ['port http', 'port mqtt']) {
        expect(only(running, check)).toMatchObject({ status: 'ok' });
        expect(only(running, check).message).toContain(
          `served by the running gateway (process ${process.pid})`,
        );
      }
      expect(only(running, 'store').message).toContain(`in use by gateway process ${process.pid}`);
    } finally {
      await gw.stop();
    }
  });

  it.skipIf(SKIP_POSTGRES || SKIP_REDIS)(
    'a cluster node: PostgreSQL and Redis reached (never naming a password), its ports served by the gateway on them',
    { timeout: 120_000 },
    async () => {
      const postgres = await startPostgres();
      const redis = await startRedis();
      const closed = createServer();
      const closedPort = await listen(closed);
      await new Promise((resolve) => closed.close(resolve));
      try {
        const url = await postgres.createDatabase('tether_doctor');
        const node = (dataDir: string, store: string, redisUrl: string, ports = { http: 0, mqtt: 0 }) =>
          configFor(dataDir, {
            store: { backend: 'postgres', url: store },
            cluster: { redisUrl },
            http: { host: '127.0.0.1', port: ports.http },
            mqtt: { host: '127.0.0.1', port: ports.mqtt },
          });

        const empty = await runDoctor(node(await dir(), url, redis.url), healthy());
        expect(only(empty, 'store')).toMatchObject({ status: 'ok' });
        expect(only(empty, 'store').message).toContain('an empty database');
        expect(only(empty, 'cluster')).toMatchObject({ status: 'ok' });
        expect(only(empty, 'cluster').message).toMatch(
          /^Redis at redis:\/\/127\.0\.0\.1:\d+ answers \(Redis \d/,
        );

        const down = await runDoctor(
          node(
            await dir(),
            `postgres://tether:s3cret-pg@127.0.0.1:${closedPort}/tether`,
            `redis://:s3cret-redis@127.0.0.1:${closedPort}/0`,
          ),
          healthy({ timeoutMs: 2000 }),
        );
        expect(only(down, 'store')).toMatchObject({ status: 'fail', code: 'STORE_UNAVAILABLE' });
        expect(only(down, 'cluster')).toMatchObject({ status: 'fail', code: 'CLUSTER_UNAVAILABLE' });
        expect(JSON.stringify(down)).not.toMatch(/s3cret/);
        expect(doctorExitCode(down)).toBe(ExitCode.unavailable);

        const gw = await startTestGateway({
          store: { backend: 'postgres', url },
          cluster: { redisUrl: redis.url },
        });
        try {
          const ports = { http: gw.gateway.httpPort, mqtt: gw.gateway.mqttPort };
          const running = await runDoctor(node(gw.dataDir, url, redis.url, ports), healthy());
          expect(only(running, 'store').message).toMatch(/schema \d+, 1 organizations, 1 users, 0 devices$/);
          for (const check of ['port http', 'port mqtt']) {
            expect(only(running, check)).toMatchObject({ status: 'ok' });
            expect(only(running, check).message).toContain('served by a running gateway');
          }
          // Its MQTT port taken by another program while the gateway answers HTTP elsewhere.
          const other = createServer();
          const taken = await listen(other);
          try {
            const clash = await runDoctor(
              node(gw.dataDir, url, redis.url, { ...ports, mqtt: taken }),
              healthy(),
            );
            expect(only(clash, 'port mqtt')).toMatchObject({ status: 'fail', code: 'ADDRESS_IN_USE' });
          } finally {
            await new Promise((resolve) => other.close(resolve));
          }
        } finally {
          await gw.stop();
        }
      } finally {
        await redis.stop();
        await postgres.stop();
      }
    },
  );

  it.runIf(HAS_OPENSSL)(
    'tls: a certificate with its key passes; a foreign key, a missing key or an expired certificate fails',
    async () => {
      const certs = await dir();
      const make = async (name: string) => {
        const made = await makeSelfSignedCert(name, { days: 30 });
        dirs.push(made.dir);
        return { tlsCertFile: made.certFile, tlsKeyFile: made.keyFile };
      };
      const a = await make('gateway.local');
      const b = await make('other.local');
      const check = (mqtt: Record<string, unknown>, env: Partial<DoctorEnv> = {}) =>
        runDoctor(
          configFor(certs, { mqtt: { host: '127.0.0.1', port: 0, tlsPort: 0, ...mqtt } }),
          healthy(env),
        );

      const good = only(await check(a), 'tls mqtt');
      expect(good).toMatchObject({ status: 'ok' });
      expect(good.message).toContain('CN=gateway.local');

      const foreign = only(await check({ ...a, tlsKeyFile: b.tlsKeyFile }), 'tls mqtt');
      expect(foreign).toMatchObject({ status: 'fail', code: 'CONFIG_INVALID' });
      expect(foreign.message).toContain('is not the key of');

      expect(only(await check({ tlsCertFile: a.tlsCertFile }), 'tls mqtt')).toMatchObject({
        status: 'fail',
        code: 'CONFIG_INVALID',
      });
      const missing = only(await check({ ...a, tlsKeyFile: join(certs, 'nope.key') }), 'tls mqtt');
      expect(missing.message).toContain('there is no such file');

      const expired = only(await check(a, { now: () => Date.now() + 40 * DAY }), 'tls mqtt');
      expect(expired).toMatchObject({ status: 'fail', code: 'CONFIG_INVALID' });
      expect(expired.message).toContain('expired');
      expect(only(await check(a, { now: () => Date.now() + 25 * DAY }), 'tls mqtt').status).toBe('warn');
    },
  );

  it('mail: the outbox, an SMTP server that takes the login, and one that refuses it or is not there', async () => {
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'gw' && auth.password === 'right password') callback(null, { user: 'gw' });
        else callback(new Error('Invalid username or password'));
      },
    });
    const port = await new Promise<number>((resolve) =>
      smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as AddressInfo).port)),
    );
    const mail = (smtpUrl: string) =>
      runDoctor(configFor(dirs[0]!, { mail: { smtpUrl } }), healthy({ timeoutMs: 3000 })).then((r) =>
        only(r, 'mail'),
      );
    try {
      expect((await mail('')).message).toContain('.eml files');
      expect(await mail(`smtp://gw:right%20password@127.0.0.1:${port}`)).toMatchObject({ status: 'ok' });
      const refused = await mail(`smtp://gw:wrong%20password@127.0.0.1:${port}`);
      expect(refused).toMatchObject({ status: 'fail', code: 'GATEWAY_UNREACHABLE' });
      expect(refused.message).toContain('535');
      expect(refused.message).not.toContain('wrong password');
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
    const gone = await mail(`smtp://gw:right%20password@127.0.0.1:${port}`);
    expect(gone).toMatchObject({ status: 'fail', code: 'GATEWAY_UNREACHABLE' });
    expect(gone.message).toContain('ECONNREFUSED');
  });

  it('public url, Wi-Fi tools and Bluetooth: warnings that name the fix', async () => {
    const results = await runDoctor(
      configFor(await dir(), { http: { host: '0.0.0.0', port: 0 } }),
      healthy({ findExecutable: async () => undefined, sysBluetoothDir: noBluetooth }),
    );
    expect(only(results, 'public url')).toMatchObject({ status: 'warn' });
    expect(only(results, 'public url').message).toContain('TETHER_HTTP_PUBLIC_URL');
    expect(only(results, 'wifi tools')).toMatchObject({ status: 'warn' });
    expect(only(results, 'wifi tools').message).toContain('"nmcli" is missing');
    expect(only(results, 'bluetooth')).toMatchObject({ status: 'warn' });
    expect(only(results, 'bluetooth').message).toContain('no Bluetooth adapter');
    const noLibrary = await runDoctor(
      configFor(await dir()),
      healthy({ sysBluetoothDir: bluetooth, bluetoothLibrary: () => false }),
    );
    expect(only(noLibrary, 'bluetooth').message).toContain('npm install @stoprocent/noble');
    // Warnings alone do not fail the run.
    expect(doctorExitCode(results)).toBe(ExitCode.ok);
  });

  it('the command: a line per check, --json for scripts, and the exit code of the first failure', {
    timeout: 60_000,
  }, async () => {
    const dataDir = await dir();
    const args = ['doctor', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0'];
    const env = { TETHER_HTTP_HOST: '127.0.0.1', TETHER_MQTT_HOST: '127.0.0.1' };
    const human = await runCli(args, env);
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ok {4}clock/m);
    expect(human.stdout).toMatch(/^ok {4}store +no database/m);

    await writeFile(join(dataDir, 'tether.json'), 'null');
    const json = await runCli([...args, '--json'], env);
    expect(json.code).toBe(ExitCode.usage);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: CheckResult[] };
    expect(report.ok).toBe(false);
    expect(only(report.checks, 'store')).toMatchObject({ status: 'fail', code: 'STORE_INVALID' });
    const text = await runCli(args, env);
    expect(text.stdout).toMatch(/^FAIL {2}store +/m);
    expect(text.stdout).toMatch(/1 to fix/);
  });
});
