import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';

/** `promise`, or a TIMEOUT error naming `what` after `timeoutMs` on `clock`. The timer never outlives it. */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  clock: Clock,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(
      () => reject(new TetherError('TIMEOUT', `Timed out after ${timeoutMs} ms trying to ${what}.`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
