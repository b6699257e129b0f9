import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_ENV_VARS, envName, loadConfig, redactConfig } from '../../shared/config.js';
import { isTetherError, type TetherError } from '../../shared/errors.js';

const fail = (fn: () => unknown): TetherError => {
  try {
    fn();
  } catch (error) {
    if (isTetherError(error)) return error;
    throw error;
  }
  throw new Error('expected a TetherError');
};

describe('configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has defaults that start a gateway with no set-up', () => {
    const config = loadConfig({ env: {}, file: undefined });
    expect(config.dataDir).toBe('./data');
    expect(config.http.port).toBe(8080);
    expect(config.mqtt.port).toBe(1883);
    expect(config.provisioning.sessionTtlSeconds).toBe(600);
    expect(config.mqtt.maxMessageBytes).toBe(1024);
  });

  it('names an environment variable for every setting, derived from its path', () => {
    expect(envName(['http', 'port'])).toBe('TETHER_HTTP_PORT');
    expect(envName(['provisioning', 'sessionTtlSeconds'])).toBe('TETHER_PROVISIONING_SESSION_TTL_SECONDS');
    expect(CONFIG_ENV_VARS.map((v) => v.name)).toContain('TETHER_ADMIN_PASSWORD');
  });

  it('layers file < environment < overrides, converting environment text to the schema type', async () => {
    const file = join(dir, 'tether.json');
    await writeFile(
      file,
      JSON.stringify({ http: { port: 9000 }, mqtt: { port: 9001 }, log: { level: 'warn' } }),
    );
    const config = loadConfig({
      file,
      env: { TETHER_MQTT_PORT: '9100', TETHER_LOG_PRETTY: 'true' },
      overrides: { log: { level: 'error' } },
    });
    expect(config.http.port).toBe(9000);
    expect(config.mqtt.port).toBe(9100);
    expect(config.log.pretty).toBe(true);
    expect(config.log.level).toBe('error');
  });

  it('reports every problem at once, with the variable or path that caused it', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ http: { port: 70000, colour: 'blue' }, nonsense: 1 }));
    const error = fail(() =>
      loadConfig({ file, env: { TETHER_MQTT_PORT: 'eighty', TETHER_LOG_LEVEL: 'loud' } }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    const problems = error.details?.problems as string[];
    expect(problems.some((p) => p.startsWith('TETHER_MQTT_PORT'))).toBe(true);
    expect(problems.some((p) => p.startsWith('http.port'))).toBe(true);
    expect(problems.some((p) => p.includes('colour'))).toBe(true);
    expect(problems.some((p) => p.includes('nonsense'))).toBe(true);
    expect(problems.some((p) => p.startsWith('log.level'))).toBe(true);
  });

  it('refuses a config file that is not JSON, and a named file that is missing', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ not json');
    expect(fail(() => loadConfig({ file, env: {} })).message).toContain('broken.json');
    expect(fail(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })).message).toContain(
      'not found',
    );
  });

  it('never prints a secret', () => {
    const config = loadConfig({ env: { TETHER_ADMIN_PASSWORD: 's3cret-password-value' } });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain('s3cret-password-value');
    expect(redactConfig(config)).toMatchObject({ admin: { password: '[set]' } });
    const error = fail(() => loadConfig({ env: { TETHER_ADMIN_PASSWORD: 'x', TETHER_HTTP_PORT: 'nope' } }));
    expect(error.message).not.toContain('s3cret');
  });
});
