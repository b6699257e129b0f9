/**
 * What happens to an error that escapes every handler. Each handler already ends its own work on
 * failure (an HTTP request answers 500, an uplink closes its device, a push stream ends itself);
 * this is the backstop for what still slips out, as an uncaught exception or an unhandled
 * rejection:
 * - an error of one client or request is logged with its code, and the process keeps serving:
 *   one device, person or packet never ends the service for everyone else;
 * - an error whose code marks a broken invariant of the process itself (`fatal` in the error table,
 *   e.g. a store that can no longer write consistently) ends the process non-zero, with one line on
 *   stderr saying why, for the supervisor to restart it.
 */
import { ERROR_TABLE, isFatalError, toTetherError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** The slice of `process` the policy uses (tests pass their own). */
export interface PolicyProcess {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  exit(code: number): never;
  stderr: { write(text: string): unknown };
}

export interface CrashPolicyOptions {
  logger: Logger;
  process?: PolicyProcess;
}

/** Install the policy; the returned function removes it again. */
export function installCrashPolicy({ logger, process: proc = process }: CrashPolicyOptions): () => void {
  const handle = (kind: 'uncaughtException' | 'unhandledRejection') => (thrown: unknown) => {
    const error = toTetherError(thrown);
    if (isFatalError(error)) {
      logger.fatal({ err: thrown, code: error.code, escaped: kind }, error.message);
      proc.stderr.write(`tether gateway: stopping: ${error.code}: ${oneLine(error.message)}\n`);
      proc.exit(ERROR_TABLE[error.code].exit || 1);
    }
    logger.error(
      { err: thrown, code: error.code, escaped: kind },
      'an error escaped its handler; that client or request failed, the gateway keeps serving',
    );
  };
  const onException = handle('uncaughtException');
  const onRejection = handle('unhandledRejection');
  proc.on('uncaughtException', onException);
  proc.on('unhandledRejection', onRejection);
  return () => {
    proc.off('uncaughtException', onException);
    proc.off('unhandledRejection', onRejection);
  };
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
