/** How a client turns a device's refusal in the handshake into an error a person can act on. */
import { TetherError } from '../../../shared/errors.js';
import type { SessionExtras } from '../messages/session-messages.js';
import { ProtocommStatus, statusName } from '../messages/status.js';

export function lockedOutError(retryAfterMs: number, now = Date.now()): TetherError {
  const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
  return new TetherError(
    'POP_LOCKED_OUT',
    `The device refuses new sessions after too many wrong proof-of-possession codes. Try again in about ${minutes} minute${minutes === 1 ? '' : 's'}, with the code from the device's label.`,
    { details: { retryAfterMs, retryAt: new Date(now + retryAfterMs).toISOString() } },
  );
}

export function popInvalidError(
  attemptsRemaining?: number,
  cause?: unknown,
  retryAfterMs?: number,
): TetherError {
  let left = '';
  if (retryAfterMs !== undefined && retryAfterMs > 0) {
    const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
    left = ` That was the last attempt: the device now refuses new sessions for about ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  } else if (attemptsRemaining !== undefined) {
    left = ` ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} left before the device locks itself for a while.`;
  }
  const details: Record<string, unknown> = {};
  if (attemptsRemaining !== undefined) details.attemptsRemaining = attemptsRemaining;
  if (retryAfterMs !== undefined && retryAfterMs > 0) details.retryAfterMs = retryAfterMs;
  const options: { details: Record<string, unknown>; cause?: unknown } = { details };
  if (cause !== undefined) options.cause = cause;
  return new TetherError(
    'POP_INVALID',
    `The device did not accept the proof of possession. Check the code on the device's label and try again.${left}`,
    options,
  );
}

/** The error for a handshake answer whose status is not Success. */
export function refusal(status: number, extras: SessionExtras, step: string, now?: number): TetherError {
  // A refused proof is POP_INVALID even when it was the one that started the lockout; only a
  // device already locked out answers TooManySessions (POP_LOCKED_OUT, with the retry time).
  if (status === ProtocommStatus.cryptoError) {
    const locked = extras.retryAfterMs !== undefined && extras.retryAfterMs > 0;
    return popInvalidError(locked ? 0 : extras.attemptsRemaining, undefined, extras.retryAfterMs);
  }
  if (extras.retryAfterMs !== undefined || status === ProtocommStatus.tooManySessions) {
    return lockedOutError(extras.retryAfterMs ?? 0, now);
  }
  return new TetherError(
    'PROTOCOL_ERROR',
    `The device refused the handshake at ${step} (${statusName(status)}).`,
    {
      details: { step, status },
    },
  );
}

export function unexpected(step: string, got: string): TetherError {
  return new TetherError(
    'PROTOCOL_ERROR',
    `The device answered ${step} with ${got}: it does not speak this security scheme.`,
    {
      details: { step, got },
    },
  );
}
