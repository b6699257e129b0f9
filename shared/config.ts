/**
 * Schema-first configuration: one schema gives the defaults, the types, the environment overrides
 * (TETHER_<PATH_IN_SNAKE_CASE>, e.g. http.port → TETHER_HTTP_PORT) and every error at once.
 * Sources, later wins: schema defaults < config file (JSON) < environment < explicit overrides.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { TetherError } from './errors.js';
import { PERMISSIONS } from './permissions.js';

const Port = (defaultPort: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, description });

/** Marks a field whose value is never printed (config dumps, logs, errors). */
const secret = { secret: true } as const;

const Limit = (value: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 10_000_000, default: value, description });

/** A permission name, or `*` for all of them. */
const PermissionPattern = Type.Union([Type.Literal('*'), ...PERMISSIONS.map((p) => Type.Literal(p))]);

/** One plan's limits and features; the one table every limit check reads (accounts/plan-limits.ts). */
const Plan = (p: {
  users: number;
  devices: number;
  subOrgs: number;
  templates: number;
  lockedPermissions: string[];
  customRoles: boolean;
  selfRegistration: boolean;
  partnerOrgs: boolean;
}) =>
  Type.Object(
    {
      users: Limit(p.users, 'Users in the whole org tree.'),
      devices: Limit(p.devices, 'Devices in the whole org tree.'),
      subOrgs: Limit(p.subOrgs, 'Organizations below the root.'),
      templates: Limit(p.templates, 'Templates in the whole org tree.'),
      lockedPermissions: Type.Array(PermissionPattern, {
        default: p.lockedPermissions,
        maxItems: PERMISSIONS.length + 1,
        description:
          'Permissions whose setting no role edit may change on this plan (comma-separated in the environment; * for all).',
      }),
      customRoles: Type.Boolean({ default: p.customRoles }),
      selfRegistration: Type.Boolean({ default: p.selfRegistration }),
      partnerOrgs: Type.Boolean({ default: p.partnerOrgs }),
    },
    { default: {}, additionalProperties: false },
  );

const UNLIMITED = 1_000_000;

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      default: './data',
      description: 'Database, signing keys, outbox and TLS material.',
    }),
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0', description: 'Address the HTTP API binds.' }),
        port: Port(8080, 'HTTP API port; 0 picks any free port.'),
        bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
        requestsPerMinute: Type.Integer({
          minimum: 0,
          maximum: 10_000_000,
          default: 6000,
          description:
            'API requests one IP address may make per minute (then a coded 429); 0 switches the limit off. Raise it for an integration that sends many commands from one address.',
        }),
        publicUrl: Type.String({
          default: '',
          description: 'URL people reach the API at; derived when empty.',
        }),
        tlsCertFile: Type.String({
          default: '',
          description:
            'PEM certificate (chain): with tlsKeyFile, the HTTP port speaks HTTPS and MQTT over WebSocket becomes wss.',
        }),
        tlsKeyFile: Type.String({ default: '', description: 'PEM private key for HTTPS.' }),
      },
      { default: {}, additionalProperties: false },
    ),
    mqtt: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0', description: 'Address the MQTT broker binds.' }),
        port: Port(1883, 'MQTT (TCP) port; 0 picks any free port.'),
        publicUrl: Type.String({
          default: '',
          description:
            'Broker URL handed to devices (mqtt://host:port); derived from the request when empty.',
        }),
        maxMessageBytes: Type.Integer({ minimum: 64, maximum: 268_435_455, default: 1024 }),
        publishesPerSecond: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
        tlsPort: Port(
          8883,
          'MQTT over TLS port; the listener opens only when tlsCertFile and tlsKeyFile are set.',
        ),
        tlsCertFile: Type.String({ default: '', description: 'PEM certificate (chain) for MQTT over TLS.' }),
        tlsKeyFile: Type.String({ default: '', description: 'PEM private key for MQTT over TLS.' }),
        websocket: Type.Boolean({
          default: true,
          description: 'MQTT over WebSocket at /mqtt on the HTTP port.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    devices: Type.Object(
      {
        claimMaxFailures: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 10,
          description: 'Wrong static-token claim codes per user and per IP before a block.',
        }),
        claimBlockMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 15 }),
      },
      { default: {}, additionalProperties: false },
    ),
    provisioning: Type.Object(
      {
        sessionTtlSeconds: Type.Integer({ minimum: 10, maximum: 86_400, default: 600 }),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: Type.Object(
      {
        accessTokenTtlSeconds: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
        refreshTokenTtlDays: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
        loginMaxFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
        loginBlockMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 10 }),
        signingKeyRotationDays: Type.Integer({
          minimum: 0,
          maximum: 3650,
          default: 30,
          description:
            'Access tokens are signed with a new key this often; tokens of the previous key stay valid until they expire. 0 never rotates.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    // As Blynk: free is one person and a handful of devices with every permission locked; pro
    // edits permissions but the shape of the organization (roles, moving orgs) stays with Admins;
    // enterprise locks nothing and adds custom roles, client self-registration and partner orgs.
    plans: Type.Object(
      {
        free: Plan({
          users: 1,
          devices: 5,
          subOrgs: 0,
          templates: 2,
          lockedPermissions: ['*'],
          customRoles: false,
          selfRegistration: false,
          partnerOrgs: false,
        }),
        pro: Plan({
          users: 50,
          devices: 50,
          subOrgs: 200,
          templates: 50,
          lockedPermissions: ['roles.edit', 'org.transfer'],
          customRoles: false,
          selfRegistration: false,
          partnerOrgs: false,
        }),
        enterprise: Plan({
          users: UNLIMITED,
          devices: UNLIMITED,
          subOrgs: UNLIMITED,
          templates: UNLIMITED,
          lockedPermissions: [],
          customRoles: true,
          selfRegistration: true,
          partnerOrgs: true,
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    accounts: Type.Object(
      {
        maxOrgDepth: Type.Integer({
          minimum: 1,
          maximum: 16,
          default: 4,
          description: 'Levels of sub-orgs below a root org.',
        }),
        invitationTtlDays: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
        invitationsPerOrgPerDay: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
        mailRequestsPerIpPerHour: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 10,
          description: 'Sign-ups and forgotten-password requests one IP address may make per hour.',
        }),
        registrationMailsPerAddressPerDay: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 3,
          description: 'Sign-up verification mails one address may receive per day.',
        }),
        verificationTtlHours: Type.Integer({ minimum: 1, maximum: 720, default: 24 }),
        passwordResetTtlMinutes: Type.Integer({ minimum: 5, maximum: 10_080, default: 60 }),
      },
      { default: {}, additionalProperties: false },
    ),
    mail: Type.Object(
      {
        smtpUrl: Type.String({
          default: '',
          description: 'smtp(s)://user:pass@host:port; empty writes each message into the outbox folder.',
          ...secret,
        }),
        from: Type.String({
          default: 'Tether <no-reply@tether.invalid>',
          description: 'Sender of every message.',
        }),
        outboxDir: Type.String({
          default: '',
          description: 'Where .eml files go; default <dataDir>/outbox.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    admin: Type.Object(
      {
        email: Type.String({ default: '', description: 'First user of a new database.' }),
        password: Type.String({ default: '', description: 'Password of that first user.', ...secret }),
        organization: Type.String({ default: 'My Organization' }),
        // The first org of a self-hosted gateway is its operator's own: no limits unless chosen.
        plan: Type.Union([Type.Literal('free'), Type.Literal('pro'), Type.Literal('enterprise')], {
          default: 'enterprise',
          description: 'Plan of the first root organization.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    store: Type.Object(
      {
        backend: Type.Union([Type.Literal('embedded'), Type.Literal('postgres')], {
          default: 'embedded',
          description:
            'embedded: one file in the data folder (one machine); postgres: the PostgreSQL database at store.url (needed for a cluster).',
        }),
        url: Type.String({
          default: '',
          pattern: '^(postgres(ql)?://.*)?$',
          description: 'postgres://user:password@host:5432/database, with store.backend = postgres.',
          ...secret,
        }),
        telemetryFlushDelayMs: Type.Integer({
          minimum: 0,
          maximum: 600_000,
          // Every other change is on disk before it is acknowledged; telemetry (with device activity) alone is coalesced.
          default: 5000,
          description:
            'Latest datastream values, last-seen times and the device-activity log (commands sent to devices) reach the disk within this window; a crash loses at most this much of them.',
        }),
        compactMinBytes: Type.Integer({
          minimum: 4096,
          maximum: 2 ** 31,
          default: 16 * 2 ** 20,
          description:
            'The journal is compacted into a new snapshot once it holds this many bytes and more than the snapshot.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    metrics: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'Serve /metrics when the HTTP API listens beyond loopback (it always does on loopback); then every scrape needs metrics.token.',
        }),
        token: Type.String({
          default: '',
          description:
            'Bearer token a scrape of /metrics must send (16 characters or more); required with metrics.enabled.',
          ...secret,
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    cluster: Type.Object(
      {
        redisUrl: Type.String({
          default: '',
          pattern: '^(rediss?://.*)?$',
          description:
            'redis://[:password@]host:port[/db] (rediss:// for TLS): this gateway joins the cluster that shares this Redis and the store; empty runs one node.',
          ...secret,
        }),
        nodeTimeoutSeconds: Type.Integer({
          minimum: 3,
          maximum: 300,
          default: 15,
          description:
            'A node that misses its heartbeats this long is taken for dead: its devices count as offline.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { default: 'info' },
        ),
        pretty: Type.Boolean({ default: false, description: 'Human-readable log lines.' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type TetherConfig = Static<typeof ConfigSchema>;

/** A partial configuration, as a file or a test supplies it. */
export type ConfigInput = { [K in keyof TetherConfig]?: Partial<TetherConfig[K]> | TetherConfig[K] };

export interface LoadConfigOptions {
  /** Path of a JSON config file; TETHER_CONFIG names one too. A missing explicit file is an error. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigInput;
}

interface Leaf {
  path: string[];
  schema: TSchema & { secret?: boolean; type?: unknown };
}

function leaves(schema: TSchema, path: string[] = []): Leaf[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props) return [{ path, schema }];
  return Object.entries(props).flatMap(([key, child]) => leaves(child, [...path, key]));
}

const LEAVES = leaves(ConfigSchema);

export const envName = (path: readonly string[]): string =>
  `TETHER_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;

/** The environment variables the schema understands, with their descriptions: for `--help`. */
export const CONFIG_ENV_VARS: ReadonlyArray<{ name: string; path: string; description: string }> = LEAVES.map(
  (leaf) => ({
    name: envName(leaf.path),
    path: leaf.path.join('.'),
    description: (leaf.schema as { description?: string }).description ?? '',
  }),
);

/** @own-key paths come from the configuration schema (LEAVES), never from a file or a person */
function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Keys of a config file are anyone's (`__proto__` too): merged in a Map, made own properties again. */
function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = new Map(Object.entries(base));
  for (const [key, value] of Object.entries(extra)) {
    const prev = out.get(key);
    out.set(
      key,
      isPlainObject(prev) && isPlainObject(value)
        ? deepMerge(prev, value)
        : value === undefined
          ? prev
          : value,
    );
  }
  return Object.fromEntries(out);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Read env values, converted to the leaf's type; conversion errors are collected, not thrown.
 * @own-key variable names are made from the configuration schema
 */
function fromEnv(env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const leaf of LEAVES) {
    const name = envName(leaf.path);
    const raw = env[name];
    if (raw === undefined) continue;
    const type = leaf.schema.type;
    if (type === 'integer' || type === 'number') {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) {
        problems.push(`${name}: expected a number, got "${leaf.schema.secret ? '[redacted]' : raw}"`);
        continue;
      }
      setPath(out, leaf.path, n);
    } else if (type === 'array') {
      setPath(
        out,
        leaf.path,
        raw
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      );
    } else if (type === 'boolean') {
      const v = raw.trim().toLowerCase();
      if (!['1', '0', 'true', 'false', 'yes', 'no'].includes(v)) {
        problems.push(`${name}: expected true or false, got "${raw}"`);
        continue;
      }
      setPath(out, leaf.path, ['1', 'true', 'yes'].includes(v));
    } else {
      setPath(out, leaf.path, raw);
    }
  }
  return out;
}

function readFile(path: string, explicit: boolean, problems: string[]): Record<string, unknown> {
  if (!existsSync(path)) {
    if (explicit) problems.push(`config file ${path}: not found`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!isPlainObject(parsed)) {
      problems.push(`config file ${path}: must hold a JSON object`);
      return {};
    }
    return parsed;
  } catch (error) {
    problems.push(`config file ${path}: ${(error as Error).message}`);
    return {};
  }
}

/**
 * Build the configuration from every source and validate it. All problems are reported in one
 * CONFIG_INVALID error (details.problems), never one at a time.
 */
export function loadConfig(options: LoadConfigOptions = {}): TetherConfig {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const explicitFile = options.file ?? env.TETHER_CONFIG;
  const fileInput = readFile(
    resolve(explicitFile ?? 'tether.config.json'),
    explicitFile !== undefined,
    problems,
  );
  const merged = deepMerge(
    deepMerge(fileInput, fromEnv(env, problems)),
    (options.overrides ?? {}) as Record<string, unknown>,
  );
  const withDefaults = Value.Default(ConfigSchema, merged) as unknown;
  for (const error of Value.Errors(ConfigSchema, withDefaults)) {
    if (error.keyword === 'boolean') continue; // repeated by the additionalProperties entry
    const at = error.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const unknownKeys = (error.params as { additionalProperties?: string[] }).additionalProperties;
    problems.push(
      unknownKeys ? `${at}: unknown setting(s) ${unknownKeys.join(', ')}` : `${at}: ${error.message}`,
    );
  }
  // Settings that hold only together.
  const metrics = (withDefaults as { metrics?: { enabled?: unknown; token?: unknown } }).metrics;
  if (metrics?.enabled === true && (typeof metrics.token !== 'string' || metrics.token.length < 16)) {
    problems.push(
      'metrics.token: needs 16 characters or more when metrics.enabled is true (TETHER_METRICS_TOKEN)',
    );
  }
  const store = (withDefaults as { store?: { backend?: unknown; url?: unknown } }).store;
  if (store?.backend === 'postgres' && !store.url) {
    problems.push('store.url: needs a postgres:// URL when store.backend is postgres (TETHER_STORE_URL)');
  }
  if (problems.length > 0) {
    throw new TetherError('CONFIG_INVALID', `The configuration is invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return withDefaults as TetherConfig;
}

/**
 * A copy safe to print: every field marked secret is replaced by "[set]" or "".
 * @own-key paths come from the configuration schema
 */
export function redactConfig(config: TetherConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const leaf of LEAVES) {
    if (!leaf.schema.secret) continue;
    let node: Record<string, unknown> | undefined = copy;
    for (const key of leaf.path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    const last = leaf.path[leaf.path.length - 1]!;
    if (node && typeof node[last] === 'string') node[last] = node[last] ? '[set]' : '';
  }
  return copy;
}
