/**
 * A request's logger that becomes a real pino child only when something is logged. Fastify makes
 * a child logger per request (to carry its request id), and pino builds every child's bindings
 * through the redaction paths (shared/logger.ts): a cost on every request, although request
 * logging is off and almost every request logs nothing.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from 'pino';

type LogFn = Logger['info'];

/** Fastify's childLoggerFactory, for the gateway's pino logger. */
export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(parent as Logger, bindings, options) as unknown as FastifyBaseLogger;
}

class LazyRequestLogger {
  #child: Logger | undefined;
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get level(): LevelWithSilentOrString {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level;
  }

  fatal: LogFn = (...args: Parameters<LogFn>) => this.#log('fatal', args);
  error: LogFn = (...args: Parameters<LogFn>) => this.#log('error', args);
  warn: LogFn = (...args: Parameters<LogFn>) => this.#log('warn', args);
  info: LogFn = (...args: Parameters<LogFn>) => this.#log('info', args);
  debug: LogFn = (...args: Parameters<LogFn>) => this.#log('debug', args);
  trace: LogFn = (...args: Parameters<LogFn>) => this.#log('trace', args);
  silent: LogFn = () => {};

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#real().child(bindings, options);
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return this.#child ? this.#child.isLevelEnabled(level) : this.#enabled(level);
  }

  #enabled(level: LevelWithSilentOrString): boolean {
    // A child of the parent's level (fastify passes a level only for a route that sets one).
    if (this.#options.level === undefined) return this.#parent.isLevelEnabled(level);
    return this.#real().isLevelEnabled(level);
  }

  #log(level: Level, args: Parameters<LogFn>): void {
    if (!this.#child && !this.#enabled(level)) return;
    (this.#real()[level] as (...a: unknown[]) => void)(...args);
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }
}
