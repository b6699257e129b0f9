/**
 * Stopping a gateway on SIGTERM or SIGINT: its parts close in reverse start order (devices
 * disconnected, HTTP drained, the store's last telemetry written, the folder unlocked) within a
 * bounded time. What could not be done is said in one line, with the exit code of its error:
 * a full disk at the end is STORE_UNAVAILABLE (exit 6) naming what was not written, never a stack.
 */
import { ExitCode, toTetherError } from '../shared/errors.js';

/** systemd's default TimeoutStopSec is 90 s; the unit tether prints allows 30 s (gateway/service-unit.ts). */
export const SHUTDOWN_LIMIT_MS = 20_000;

export interface Stoppable {
  stop(): Promise<void>;
  /** The part being stopped now, if any. */
  readonly stoppingPart?: string | undefined;
}

export interface StopOutcome {
  code: number;
  /** For the operator, one line; none when everything was stopped and written. */
  line?: string;
  details?: Record<string, unknown>;
}

export async function stopWithin(gateway: Stoppable, limitMs = SHUTDOWN_LIMIT_MS): Promise<StopOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<StopOutcome>((resolve) => {
    timer = setTimeout(() => {
      const part = gateway.stoppingPart;
      resolve({
        code: ExitCode.internal,
        line: `Tether did not stop within ${limitMs / 1000} s${part ? ` (still stopping: ${part})` : ''}; exiting anyway. Acknowledged changes are on disk; telemetry of the last window may not be.`,
        details: { stillStopping: part ?? null },
      });
    }, limitMs);
  });
  const stopped = gateway.stop().then(
    (): StopOutcome => ({ code: ExitCode.ok }),
    (error: unknown): StopOutcome => {
      const e = toTetherError(error);
      return {
        code: e.exitCode,
        line: `Tether stopped, but ${e.code === 'INTERNAL' ? `a part failed to close: ${(error as Error)?.message ?? e.message}` : e.message}`,
        details: { code: e.code, ...(e.details ?? {}) },
      };
    },
  );
  try {
    return await Promise.race([stopped, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
