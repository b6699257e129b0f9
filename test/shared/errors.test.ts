import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, ExitCode, MqttReturnCode, TetherError, toTetherError } from '../../shared/errors.js';

describe('errors with stable codes', () => {
  it('maps every code to an HTTP status, a CLI exit code and (for refusals) an MQTT return code', () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      expect(spec.http, code).toBeGreaterThanOrEqual(400);
      expect(spec.exit, code).toBeGreaterThan(0);
    }
    const bad = new TetherError('TOKEN_INVALID', 'nope');
    expect(bad.httpStatus).toBe(401);
    expect(bad.mqttReturnCode).toBe(MqttReturnCode.badUsernameOrPassword);
    expect(bad.exitCode).toBe(ExitCode.auth);
    expect(new TetherError('WIFI_AUTH_FAILED', 'x').exitCode).toBe(ExitCode.wifi);
  });

  it('wraps an unknown error as INTERNAL and keeps the cause, without leaking its message', () => {
    const cause = new Error('database password is hunter2');
    const wrapped = toTetherError(cause);
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBe(cause);
    expect(JSON.stringify(wrapped.toJSON())).not.toContain('hunter2');
  });
});
