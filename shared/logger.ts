import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Human-readable output for a terminal (pino-pretty); JSON lines otherwise. */
  pretty?: boolean;
}

/**
 * Keys whose values are never written to a log, wherever they appear in a logged object.
 * Tokens, passwords and proofs of possession are secrets (CONVENTIONS: never log a token, password or PoP).
 */
export const REDACTED_KEYS = [
  'password',
  'passphrase',
  'token',
  'pop',
  'refreshToken',
  'accessToken',
  'authorization',
  'secret',
  'claimCode',
] as const;

const redactPaths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** The root logger of one process; modules take a named child of it: root.child({ module: 'broker' }). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const redact = { paths: redactPaths, censor: '[redacted]' };
  if (options.pretty) {
    return pino({
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' },
      },
    });
  }
  return pino({ level, redact });
}

/** A logger that writes nothing: the default in tests (set TETHER_TEST_LOG=debug to see logs). */
export function silentLogger(): Logger {
  const level = process.env.TETHER_TEST_LOG;
  return level ? pino({ level }) : pino({ level: 'silent' });
}

export const moduleLogger = (root: Logger, module: string): Logger => root.child({ module });
