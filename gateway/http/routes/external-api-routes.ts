/**
 * Blynk's HTTPS device API (docs.blynk.io, blynk.cloud "Device HTTPS API"): a device, or a script
 * holding a device's token, reads and writes its datastreams with GET requests under
 * /external/api, so existing scripts work with only the host changed. Same paths, parameters
 * and answers as Blynk: datastreams by virtual pin (`v1`) — or, beyond Blynk, by name — errors as
 * HTTP 400 `{"error":{"message":"Invalid token."}}` with Blynk's texts (plus Tether's code and the
 * exact reason). Every value goes through the device services, as an MQTT uplink does, under the
 * same per-device message size and rate limits as MQTT.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isTetherError, TetherError } from '../../../shared/errors.js';
import { ownValue } from '../../../shared/own-keys.js';
import { downlink } from '../../../shared/topics.js';
import { formatDatastreamValue } from '../../devices/datastream-values.js';
import { datastreamOfPin, isVirtualPin } from '../../devices/virtual-pins.js';
import type { GatewayServices } from '../../services.js';
import type { Datastream, DatastreamValue, Device, Template } from '../../store/types.js';

/** Blynk's own error texts (docs.blynk.io Device HTTPS API), so scripts that read them still match. */
const BLYNK = {
  invalidToken: 'Invalid token.',
  wrongPin: 'Wrong pin format.',
  noDatastream: 'No datastream setup for that pin.',
  wrongValue: "Value doesn't match the Datastream data type.",
  noEventCode: 'Event code is not provided.',
} as const;

/** Parameters one request may carry (batch_ds takes at most 64 values too). */
const MAX_PARAMS = 66;

type Query = Array<[string, string]>;

export const externalApiRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { devices, store, broker, connections, config, clock } = services;
  const rate = new PerDeviceRate(config.mqtt.publishesPerSecond);

  // Blynk answers every refusal with 400 and {"error":{"message":…}}; Tether adds its code and,
  // where Blynk's text is vaguer, the exact reason.
  app.setErrorHandler((error, request, reply) => {
    const tether = isTetherError(error) ? error : undefined;
    if (!tether) request.log.error({ err: error }, 'external API request failed');
    const status = blynkHttpStatus(tether?.code ?? 'INTERNAL');
    if (status === 429) reply.header('retry-after', '1');
    return reply.status(status).send({
      error: {
        code: tether?.code ?? 'INTERNAL',
        message: tether?.message ?? 'An unexpected error occurred.',
        ...(tether?.details?.reason ? { reason: tether.details.reason } : {}),
      },
    });
  });

  /** The device the query's token belongs to, refused as Blynk refuses an unknown token. */
  const deviceOf = async (query: Query, { activeOnly = true } = {}): Promise<Device> => {
    const token = param(query, 'token');
    let device: Device;
    try {
      device = await devices.authenticateToken(token ?? '');
    } catch (error) {
      if (!isTetherError(error)) throw error;
      throw refusal(error.code, BLYNK.invalidToken, error.message);
    }
    if (activeOnly && device.status !== 'active' && device.status !== 'unclaimed') {
      throw refusal(
        'PERMISSION_DENIED',
        'The device is not activated yet.',
        'Activate it first: connect over MQTT and publish info/mcu, or call /external/api/provision with its template id.',
      );
    }
    return device;
  };

  const templateOf = async (device: Device): Promise<Template> => {
    const template = await store.templates.get(device.templateId);
    if (!template) throw new TetherError('INTERNAL', `Template ${device.templateId} is gone.`);
    return template;
  };

  /** The same size and rate limits as an MQTT publish of the same data. */
  const withinLimits = (device: Device, topic: string, payload: string): void => {
    const size = 2 + Buffer.byteLength(topic) + Buffer.byteLength(payload);
    const max = config.mqtt.maxMessageBytes;
    if (size > max) {
      throw new TetherError('PAYLOAD_TOO_LARGE', `message of ${size} bytes is over the limit of ${max}`);
    }
    // One budget per device: what it also sends over MQTT counts against the same limit.
    if (!rate.allow(device.id, clock.now()) || !broker.chargeMessage(device.id)) {
      throw new TetherError(
        'RATE_LIMITED',
        `more than ${config.mqtt.publishesPerSecond} messages per second`,
      );
    }
  };

  /** Record a value as the device's own (validated against the template), then pass it to the device. */
  const write = async (device: Device, ds: Datastream, values: string[]): Promise<void> => {
    if (values.length > 1 && ds.type !== 'location') {
      throw refusal('VALIDATION_FAILED', BLYNK.wrongValue, `Datastream ${ds.name} takes one value.`);
    }
    let value: DatastreamValue;
    try {
      value = await devices.recordValue(device.id, ds.name, values.join(','));
    } catch (error) {
      if (isTetherError(error) && error.code === 'VALIDATION_FAILED')
        throw refusal(error.code, BLYNK.wrongValue, error.message);
      throw error;
    }
    // As Blynk: a value written through the API reaches the connected device (BLYNK_WRITE).
    try {
      connections.sendToDevice(device.id, downlink.ds(ds.name), formatDatastreamValue(value));
    } catch (error) {
      app.log.debug({ err: error, deviceId: device.id }, 'value kept, but not passed to the device');
    }
  };

  const route = (url: string, handler: (query: Query, reply: FastifyReply) => Promise<unknown>): void => {
    app.get(url, { exposeHeadRoute: false }, (request: FastifyRequest, reply: FastifyReply) =>
      handler(queryOf(request), reply),
    );
  };

  // GET /external/api/get?token=T&v1[&v2…]: one value as text, several as a JSON object.
  route('/get', async (query, reply) => {
    const device = await deviceOf(query);
    const template = await templateOf(device);
    const keys = query.map(([key]) => key).filter((key) => key !== 'token');
    if (keys.length === 0 || keys.includes('dataStreamId')) throw unsupportedOrMissing(keys, template);
    const answers = keys.map((key) => [key, latest(device, resolve(template, key))] as const);
    if (answers.length === 1) {
      const [key, value] = answers[0]!;
      if (value === undefined) throw noValue(key);
      return reply.type('text/plain').send(Array.isArray(value) ? JSON.stringify(value) : String(value));
    }
    return Object.fromEntries(answers.filter(([, value]) => value !== undefined));
  });

  // GET /external/api/getAll?token=T: every datastream that has a value (or a default).
  route('/getAll', async (query) => {
    const device = await deviceOf(query);
    const template = await templateOf(device);
    const out: Array<[string, DatastreamValue]> = [];
    for (const ds of template.datastreams) {
      const value = latest(device, ds);
      if (value !== undefined) out.push([ds.pin?.toLowerCase() ?? ds.name, value]);
    }
    return Object.fromEntries(out);
  });

  // GET /external/api/update?token=T&v1=V, or &pin=V1&value=V[&value=W] (two-value datastreams).
  route('/update', async (query, reply) => {
    const device = await deviceOf(query);
    const template = await templateOf(device);
    const rest = query.filter(([key]) => key !== 'token');
    const pin = param(rest, 'pin');
    const values = pin !== undefined ? rest.filter(([key]) => key === 'value').map(([, v]) => v) : [];
    const target = pin ?? rest[0]?.[0];
    if (target === undefined || target === 'dataStreamId' || (pin !== undefined && values.length === 0)) {
      throw unsupportedOrMissing(
        rest.map(([key]) => key),
        template,
      );
    }
    const ds = resolve(template, target);
    const given = pin !== undefined ? values : rest.filter(([key]) => key === target).map(([, v]) => v);
    if (pin === undefined && rest.some(([key]) => key !== target)) {
      throw refusal(
        'VALIDATION_FAILED',
        BLYNK.wrongPin,
        'One datastream per update: use batch/update for several.',
      );
    }
    withinLimits(device, `ds/${ds.name}`, given.join(','));
    await write(device, ds, given);
    return reply.send('');
  });

  // GET /external/api/batch/update?token=T&v1=A&v2=B: several datastreams at once (one message).
  route('/batch/update', async (query, reply) => {
    const device = await deviceOf(query);
    const template = await templateOf(device);
    const byDatastream = new Map<Datastream, string[]>();
    for (const [key, value] of query) {
      if (key === 'token') continue;
      if (key === 'dataStreamId') throw unsupportedOrMissing([key], template);
      const ds = resolve(template, key);
      byDatastream.set(ds, [...(byDatastream.get(ds) ?? []), value]);
    }
    if (byDatastream.size === 0)
      throw refusal('VALIDATION_FAILED', BLYNK.wrongPin, 'Name at least one datastream.');
    const asJson = JSON.stringify(
      Object.fromEntries([...byDatastream].map(([ds, values]) => [ds.name, values.join(',')])),
    );
    withinLimits(device, 'batch_ds', asJson);
    for (const [ds, values] of byDatastream) await write(device, ds, values);
    return reply.send('');
  });

  // GET /external/api/isHardwareConnected?token=T: true or false.
  route('/isHardwareConnected', async (query, reply) => {
    const device = await deviceOf(query, { activeOnly: false });
    return reply.type('text/plain').send(String(devices.isOnline(device.id)));
  });

  // GET /external/api/logEvent?token=T&code=C[&description=D]: an event, as MQTT event/<code>.
  route('/logEvent', async (query, reply) => {
    const device = await deviceOf(query);
    const code = param(query, 'code');
    if (!code) throw refusal('VALIDATION_FAILED', BLYNK.noEventCode);
    const description = param(query, 'description') ?? '';
    if (!/^[A-Za-z0-9_\-.:]{1,64}$/.test(code)) {
      throw refusal(
        'VALIDATION_FAILED',
        "Can't find Event with this code in Product template",
        'An event code is 1 to 64 letters, digits, _ - . or :.',
      );
    }
    withinLimits(device, `event/${code}`, description);
    try {
      await services.deviceEvents.record(device, code, description);
    } catch (error) {
      // Blynk's text for a code the template does not define; Tether's reason says which.
      if (isTetherError(error) && error.code === 'VALIDATION_FAILED') {
        throw refusal(
          'VALIDATION_FAILED',
          "Can't find Event with this code in Product template",
          error.message,
        );
      }
      throw error;
    }
    return reply.send('');
  });

  // GET /external/api/provision?token=T&templateId=TMPL…[&ver&build&type]: activation without MQTT.
  route('/provision', async (query, reply) => {
    const device = await deviceOf(query, { activeOnly: false });
    const tmpl = param(query, 'templateId');
    withinLimits(
      device,
      'info/mcu',
      JSON.stringify(Object.fromEntries(query.filter(([k]) => k !== 'token'))),
    );
    try {
      await devices.handleInfoMcu(device.id, {
        tmpl,
        ver: param(query, 'ver'),
        build: param(query, 'build'),
        type: param(query, 'type'),
      });
    } catch (error) {
      if (isTetherError(error)) throw refusal(error.code, error.message);
      throw error;
    }
    return reply.send('');
  });
};

/**
 * The HTTP status of a refusal on /external/api: 400 as Blynk answers every refusal (scripts
 * test for it), except where a client should wait (429, with retry-after) or send less (413).
 */
export function blynkHttpStatus(code: ErrorCode): number {
  if (code === 'RATE_LIMITED') return 429;
  if (code === 'PAYLOAD_TOO_LARGE') return 413;
  return code === 'INTERNAL' ? 500 : 400;
}

/** The query as an ordered list of pairs: names come from outside and never index an object. */
function queryOf(request: FastifyRequest): Query {
  const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  const pairs: Query = [];
  for (const pair of new URLSearchParams(search)) {
    if (pairs.length === MAX_PARAMS) {
      throw refusal('VALIDATION_FAILED', BLYNK.wrongPin, `At most ${MAX_PARAMS} parameters per request.`);
    }
    pairs.push(pair);
  }
  return pairs;
}

const param = (query: Query, name: string): string | undefined => query.find(([key]) => key === name)?.[1];

/** A pin (v1, V1) or, beyond Blynk, a datastream name. */
function resolve(template: Template, key: string): Datastream {
  if (isVirtualPin(key)) {
    const ds = datastreamOfPin(template.datastreams, key);
    if (!ds)
      throw refusal(
        'VALIDATION_FAILED',
        BLYNK.noDatastream,
        `Template ${template.id} gives no datastream pin ${key.toUpperCase()}.`,
      );
    return ds;
  }
  const ds = template.datastreams.find((candidate) => candidate.name === key);
  if (!ds) {
    throw refusal(
      'VALIDATION_FAILED',
      BLYNK.wrongPin,
      `"${key.slice(0, 64)}" is neither a virtual pin (V0-V255) of template ${template.id} nor one of its datastream names.`,
    );
  }
  return ds;
}

/** The latest value, else the template's default; undefined when there is neither. */
function latest(device: Device, ds: Datastream): DatastreamValue | undefined {
  return ownValue(device.values, ds.name)?.value ?? ds.defaultValue;
}

function unsupportedOrMissing(keys: string[], template: Template): TetherError {
  return keys.includes('dataStreamId')
    ? refusal(
        'VALIDATION_FAILED',
        `Requested dataStream doesn't exist in the product ${template.name}`,
        'Tether addresses datastreams by virtual pin (v1) or by name, not by dataStreamId.',
      )
    : refusal(
        'VALIDATION_FAILED',
        BLYNK.wrongPin,
        'Name a datastream: a virtual pin such as v1, or its name.',
      );
}

const noValue = (key: string): TetherError =>
  refusal(
    'VALIDATION_FAILED',
    `No value for ${key.slice(0, 64)} yet.`,
    'The datastream has no value and no default.',
  );

function refusal(code: TetherError['code'], message: string, reason?: string): TetherError {
  return new TetherError(code, message, reason ? { details: { reason } } : {});
}

/** Messages per device per second, as the broker counts MQTT publishes; the map stays small. */
export class PerDeviceRate {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perSecond: number) {}

  allow(deviceId: string, now: number): boolean {
    let window = this.#windows.get(deviceId);
    if (!window || now - window.start >= 1000) {
      if (this.#windows.size >= 10_000) this.#prune(now);
      window = { start: now, count: 0 };
      this.#windows.set(deviceId, window);
    }
    return ++window.count <= this.perSecond;
  }

  #prune(now: number): void {
    for (const [id, window] of this.#windows) if (now - window.start >= 1000) this.#windows.delete(id);
  }
}
