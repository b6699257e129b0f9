/**
 * Helpers for device tests: templates, minted devices, extra users and orgs written straight into
 * the gateway's store (the accounts API is another module's), and real mqtt.js device clients.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import type { MintedDevice } from '../../gateway/devices/static-token-service.js';
import type { User } from '../../gateway/store/types.js';
import { newId } from '../../shared/ids.js';
import { type TestGateway, testPasswords } from '../support/gateway-harness.js';

export const DATASTREAMS = [
  { name: 'temp', type: 'double', min: -40, max: 125 },
  { name: 'power', type: 'int', min: 0, max: 1 },
  { name: 'mode', type: 'enum', values: ['off', 'heat', 'cool'] },
  { name: 'label', type: 'string' },
  { name: 'where', type: 'location' },
];

export async function createTemplate(gw: TestGateway, token: string, name = 'Heater'): Promise<string> {
  const res = await gw.api<{ id: string }>(
    'POST',
    '/api/templates',
    { name, datastreams: DATASTREAMS },
    token,
  );
  expect(res.status).toBe(201);
  return res.body.id;
}

export async function mint(
  gw: TestGateway,
  token: string,
  templateId: string,
  count = 1,
): Promise<MintedDevice[]> {
  const res = await gw.api<{ devices: MintedDevice[] }>(
    'POST',
    '/api/static-tokens',
    { templateId, count },
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.devices;
}

/** Mint a device and claim it as the admin: an active device owned by the admin. */
export async function activeDevice(
  gw: TestGateway,
  token: string,
  templateId: string,
): Promise<MintedDevice> {
  const [device] = await mint(gw, token, templateId);
  const claim = await gw.api('POST', '/api/claims', { claimCode: device!.claimCode }, token);
  expect(claim.status, JSON.stringify(claim.body)).toBe(200);
  return device!;
}

/** A user written into the store; returns it and an access token. */
export async function addUser(
  gw: TestGateway,
  input: {
    roleId?: string;
    orgId?: string;
    status?: User['status'];
    email?: string;
    type?: User['type'];
  } = {},
): Promise<{ user: User; token: string }> {
  const { store } = gw.gateway.services;
  const admin = (await store.users.find())[0]!;
  const password = 'another good password';
  const user: User = {
    id: newId('usr'),
    orgId: input.orgId ?? admin.orgId,
    email: input.email ?? `${newId('u').toLowerCase()}@example.com`,
    name: 'someone',
    // An admin or staff member works on products (a developer); anyone else is an end user.
    type: input.type ?? (input.roleId === 'admin' || input.roleId === 'staff' ? 'developer' : 'client'),
    roleId: input.roleId ?? 'user',
    status: input.status ?? 'active',
    passwordHash: await testPasswords().hash(password),
    createdAt: Date.now(),
    sessionsValidAfter: 0,
  };
  await store.users.insert(user);
  // A user who is not active cannot log in: the token is then empty.
  const token = user.status === 'active' ? await gw.login(user.email, password) : '';
  return { user, token };
}

export async function addOrg(gw: TestGateway, parentId: string | null, name = 'Sub org'): Promise<string> {
  const id = newId('org');
  await gw.gateway.services.store.orgs.insert({
    id,
    name,
    parentId,
    plan: parentId ? null : 'free',
    createdAt: Date.now(),
  });
  return id;
}

/** A device connected over MQTT 3.1.1 with its token, subscribed to downlink/#, with an inbox. */
export interface TestDevice {
  client: MqttClient;
  inbox: Array<{ topic: string; payload: string; qos: number }>;
  /** Resolves with the next message on `topic` (or already received and not yet taken). */
  next(topic: string, timeoutMs?: number): Promise<string>;
  closed: Promise<void>;
}

export async function connectDevice(
  url: string,
  token: string,
  options: Partial<IClientOptions> & { subscribe?: boolean } = {},
): Promise<TestDevice> {
  const client = await mqtt.connectAsync(url, {
    username: 'device',
    password: token,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  const inbox: TestDevice['inbox'] = [];
  const waiters: Array<{ topic: string; resolve: (p: string) => void }> = [];
  client.on('message', (topic, payload, packet) => {
    const i = waiters.findIndex((w) => w.topic === topic);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(payload.toString());
    else inbox.push({ topic, payload: payload.toString(), qos: packet.qos });
  });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  if (options.subscribe !== false) await client.subscribeAsync('downlink/#', { qos: 1 });
  return {
    client,
    inbox,
    closed,
    next: (topic, timeoutMs = 3000) => {
      const i = inbox.findIndex((m) => m.topic === topic);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!.payload);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no message on ${topic} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          topic,
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
        });
      });
    },
  };
}

/** The CONNACK return code a connection attempt gets (0 when it is accepted, then closed). */
export async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    await client.endAsync();
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
