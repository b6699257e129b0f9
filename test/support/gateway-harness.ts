/**
 * Boots a real gateway on loopback with port 0 (HTTP and MQTT), in its own temp data folder or
 * in memory, with a known admin; helpers speak real HTTP to it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordHasher } from '../../gateway/accounts/passwords.js';
import { Gateway, type GatewayOptions } from '../../gateway/app.js';
import { type ConfigInput, loadConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/logger.js';

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };

/** A cheap scrypt for tests (N = 2^12); production keeps its own cost. */
export const testPasswords = () => createPasswordHasher({ N: 2 ** 12 });

export interface TestGateway {
  gateway: Gateway;
  dataDir: string;
  baseUrl: string;
  brokerUrl: string;
  api: <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ) => Promise<{ status: number; body: T }>;
  login: (email?: string, password?: string) => Promise<string>;
  stop: () => Promise<void>;
}

export async function startTestGateway(
  overrides: ConfigInput = {},
  options: Partial<GatewayOptions> & { dataDir?: string; keepData?: boolean } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tether-test-')));
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: {
      ...overrides,
      dataDir,
      // Tests send every request from one address, far faster than any person: no general limit
      // unless a test asks for one (test/gateway/request-limit.test.ts).
      http: { host: '127.0.0.1', port: 0, requestsPerMinute: 0, ...overrides.http },
      mqtt: { host: '127.0.0.1', port: 0, ...overrides.mqtt },
      admin: { email: ADMIN.email, password: ADMIN.password, ...overrides.admin },
    },
  });
  const gateway = await Gateway.create({
    config,
    logger: silentLogger(),
    passwords: testPasswords(),
    ...options,
  });
  try {
    await gateway.start();
  } catch (error) {
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const baseUrl = `http://127.0.0.1:${gateway.httpPort}`;
  const api: TestGateway['api'] = async (method, path, body, token) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as never };
  };
  const login = async (email = ADMIN.email, password = ADMIN.password) => {
    const res = await api<{ accessToken: string }>('POST', '/api/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.accessToken;
  };
  return {
    gateway,
    dataDir,
    baseUrl,
    brokerUrl: `mqtt://127.0.0.1:${gateway.mqttPort}`,
    api,
    login,
    stop: async () => {
      await gateway.stop();
      if (!options.keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
