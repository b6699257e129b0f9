/**
 * Errors with stable codes. Every failure a person or a program can act on is a TetherError with a
 * code from ERROR_TABLE; the table is the one place that maps a code to an HTTP status, an MQTT
 * CONNACK return code (where a connection is refused for it) and a CLI exit code.
 */

/** MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
export const MqttReturnCode = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

/** CLI exit codes: 0 ok, 1 unexpected, 2 usage, then one per family so scripts can branch. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  unavailable: 6,
  provisioning: 7,
  wifi: 8,
  limit: 9,
} as const;

interface ErrorSpec {
  http: number;
  exit: number;
  mqtt?: number;
  /** The process's own state can no longer be trusted: escaping every handler, it ends the process. */
  fatal?: true;
}

const spec = (http: number, exit: number, mqtt?: number): ErrorSpec =>
  mqtt === undefined ? { http, exit } : { http, exit, mqtt };

export const ERROR_TABLE = {
  // input and configuration
  VALIDATION_FAILED: spec(400, ExitCode.usage),
  CONFIG_INVALID: spec(500, ExitCode.usage),
  PAYLOAD_TOO_LARGE: spec(413, ExitCode.usage),
  HEADERS_TOO_LARGE: spec(431, ExitCode.usage),
  /** The request did not arrive in time (the HTTP server's request timeout). */
  REQUEST_TIMEOUT: spec(408, ExitCode.unavailable),
  // people and sessions
  AUTH_REQUIRED: spec(401, ExitCode.auth),
  INVALID_CREDENTIALS: spec(401, ExitCode.auth),
  TOKEN_INVALID: spec(401, ExitCode.auth, MqttReturnCode.badUsernameOrPassword),
  TOKEN_EXPIRED: spec(401, ExitCode.auth, MqttReturnCode.badUsernameOrPassword),
  TOKEN_REVOKED: spec(401, ExitCode.auth, MqttReturnCode.badUsernameOrPassword),
  PERMISSION_DENIED: spec(403, ExitCode.auth, MqttReturnCode.notAuthorized),
  RATE_LIMITED: spec(429, ExitCode.limit),
  SETUP_REQUIRED: spec(503, ExitCode.unavailable),
  // resources
  NOT_FOUND: spec(404, ExitCode.notFound),
  CONFLICT: spec(409, ExitCode.conflict),
  TEMPLATE_NOT_FOUND: spec(404, ExitCode.notFound),
  DEVICE_NOT_FOUND: spec(404, ExitCode.notFound),
  TEMPLATE_MISMATCH: spec(409, ExitCode.provisioning, MqttReturnCode.notAuthorized),
  PROVISIONING_EXPIRED: spec(410, ExitCode.provisioning, MqttReturnCode.badUsernameOrPassword),
  /** A static-token claim code that is unknown or already used: one answer for both. */
  CLAIM_CODE_INVALID: spec(404, ExitCode.notFound),
  PLAN_LIMIT: spec(403, ExitCode.limit),
  /** An emailed link (invitation, verification, password reset) that is unknown, used or expired. */
  LINK_INVALID: spec(410, ExitCode.auth),
  /** An org that still holds users, devices or sub-orgs; delete with force, or empty it first. */
  ORG_NOT_EMPTY: spec(409, ExitCode.conflict),
  // the device and its radio
  /** A device published on a topic outside the device API: answered on downlink/diag; the connection stays. */
  TOPIC_UNSUPPORTED: spec(400, ExitCode.usage),
  PROTOCOL_ERROR: spec(502, ExitCode.provisioning),
  SECURITY_MISMATCH: spec(400, ExitCode.provisioning),
  POP_INVALID: spec(401, ExitCode.provisioning),
  POP_LOCKED_OUT: spec(429, ExitCode.provisioning),
  SESSION_EXPIRED: spec(401, ExitCode.provisioning),
  DEVICE_UNREACHABLE: spec(504, ExitCode.unavailable),
  WIFI_AUTH_FAILED: spec(502, ExitCode.wifi),
  WIFI_NETWORK_NOT_FOUND: spec(502, ExitCode.wifi),
  GATEWAY_UNREACHABLE: spec(503, ExitCode.unavailable),
  ADDRESS_IN_USE: spec(503, ExitCode.unavailable),
  TIMEOUT: spec(504, ExitCode.unavailable),
  NO_BLUETOOTH_ADAPTER: spec(503, ExitCode.unavailable),
  NO_WIFI_TOOLS: spec(503, ExitCode.unavailable),
  // the data folder
  /** A write to the data folder failed (disk full, permissions, I/O): the change was not made. */
  STORE_UNAVAILABLE: spec(503, ExitCode.unavailable),
  /** The data folder holds damaged or foreign data; nothing in it was changed. */
  STORE_INVALID: spec(500, ExitCode.usage),
  /** Another gateway (or backup, or restore) is using the data folder. */
  STORE_LOCKED: spec(409, ExitCode.conflict),
  /** The cluster's Redis cannot be reached: cluster state (presence, limiters, events) is unavailable. */
  CLUSTER_UNAVAILABLE: spec(503, ExitCode.unavailable),
  /** The system clock is certainly wrong (before this release, or behind the data folder's files). */
  CLOCK_WRONG: spec(503, ExitCode.unavailable),
  // everything else
  INTERNAL: spec(500, ExitCode.internal),
  /** A broken invariant of the process (e.g. a store that cannot write consistently): restart it. */
  INVARIANT_BROKEN: { ...spec(500, ExitCode.internal), fatal: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface TetherErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure (never secrets): a limit, a step, a retry time. */
  details?: Record<string, unknown>;
}

export class TetherError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: TetherErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TetherError';
    this.code = code;
    this.details = options.details;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }

  /** The CONNACK return code for a refused connection; "server unavailable" when none is set. */
  get mqttReturnCode(): number {
    const entry: ErrorSpec = ERROR_TABLE[this.code];
    return entry.mqtt ?? MqttReturnCode.serverUnavailable;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const isTetherError = (value: unknown): value is TetherError => value instanceof TetherError;

export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);

/** Whether an error means the process itself is broken (see gateway/crash-policy.ts). */
export const isFatalError = (error: unknown): boolean =>
  isTetherError(error) && (ERROR_TABLE[error.code] as ErrorSpec).fatal === true;

/** Turn anything thrown into a TetherError, keeping the original as the cause. */
export function toTetherError(error: unknown): TetherError {
  if (isTetherError(error)) return error;
  return new TetherError('INTERNAL', 'An unexpected error occurred.', { cause: error });
}
