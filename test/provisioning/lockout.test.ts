import { describe, expect, it } from 'vitest';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import { PopAttemptLimiter } from '../../provisioning/protocol/security/pop-attempt-limiter.js';
import type { DeviceSecurityConfig } from '../../provisioning/protocol/security/security-factory.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { MemoryLink } from '../../provisioning/transport/memory-link.js';
import { ManualClock } from '../../shared/clock.js';
import { FakeDevice } from './fake-device.js';

const POP = 'abcd1234';
const FIVE_MINUTES = 5 * 60_000;

const configs: Array<[string, DeviceSecurityConfig]> = [
  ['security 1', { version: 1, pop: POP }],
  ['security 2', { version: 2, credential: await makeSrpVerifier(POP) }],
];

describe.each(configs)('wrong PoP and lockout, %s', (_name, security) => {
  const setup = () => {
    const clock = new ManualClock();
    const device = new ProtocommDevice({ security, templateId: 'T', wifi: new FakeDevice(), clock });
    const attempt = (pop: string) =>
      new ProtocommClient(new MemoryLink(device), { minSecurity: 1, clock }).establishSession({ pop });
    return { clock, device, attempt };
  };

  it('refuses a wrong PoP with POP_INVALID and counts down, then locks out for 5 minutes', async () => {
    const { clock, device, attempt } = setup();
    for (const left of [4, 3, 2, 1]) {
      const error = await attempt('wrong').catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'POP_INVALID',
        details: { attemptsRemaining: left, step: 'establish-session' },
      });
    }
    const fifth = await attempt('wrong').catch((e: unknown) => e);
    expect(fifth).toMatchObject({
      code: 'POP_INVALID',
      details: { attemptsRemaining: 0, retryAfterMs: FIVE_MINUTES },
    });
    expect(String((fifth as Error).message)).toMatch(/refuses new sessions for about 5 minutes/);

    // Even the right PoP is refused while locked out, with the time to wait.
    await clock.advance(60_000);
    const locked = await attempt(POP).catch((e: unknown) => e);
    expect(locked).toMatchObject({
      code: 'POP_LOCKED_OUT',
      details: {
        retryAfterMs: FIVE_MINUTES - 60_000,
        retryAt: new Date(clock.now() + FIVE_MINUTES - 60_000).toISOString(),
      },
    });
    expect(device.lockedOutForMs).toBe(FIVE_MINUTES - 60_000);

    await clock.advance(FIVE_MINUTES - 60_000 - 1);
    await expect(attempt(POP)).rejects.toMatchObject({
      code: 'POP_LOCKED_OUT',
      details: { retryAfterMs: 1 },
    });
    await clock.advance(1);
    await expect(attempt(POP)).resolves.toBe(security.version);
    expect(device.lockedOutForMs).toBe(0);
  });

  it('a successful session resets the count', async () => {
    const { attempt } = setup();
    for (let i = 0; i < 4; i++) await attempt('wrong').catch(() => {});
    await attempt(POP);
    await expect(attempt('wrong')).rejects.toMatchObject({ details: { attemptsRemaining: 4 } });
  });
});

describe('PopAttemptLimiter', () => {
  it('takes its policy from options', () => {
    const clock = new ManualClock();
    const limiter = new PopAttemptLimiter(clock, { maxFailures: 2, lockoutMs: 1000 });
    expect(limiter.recordFailure()).toEqual({ attemptsRemaining: 1, retryAfterMs: 0 });
    expect(limiter.recordFailure()).toEqual({ attemptsRemaining: 0, retryAfterMs: 1000 });
    expect(limiter.retryAfterMs()).toBe(1000);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('esp-idf devices that drop the request on a wrong proof', () => {
  it('maps a refused proof step to POP_INVALID on the client', async () => {
    const device = new ProtocommDevice({
      security: { version: 2, credential: await makeSrpVerifier(POP) },
      templateId: 'T',
      wifi: new FakeDevice(),
      clock: new ManualClock(),
    });
    // esp-idf security2.c fails the request instead of answering a status: mimic it.
    const espIdfLike = {
      endpoints: device.endpoints,
      closeSession: (id: string) => device.closeSession(id),
      handle: async (endpoint: string, request: Uint8Array, sessionId: string) => {
        const answer = await device.handle(endpoint, request, sessionId);
        if (endpoint === 'prov-session' && answer.length < 20) throw new Error('ESP_FAIL');
        return answer;
      },
    };
    const client = new ProtocommClient(new MemoryLink(espIdfLike), { clock: new ManualClock() });
    const error = await client.establishSession({ pop: 'wrong' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POP_INVALID', details: { step: 'establish-session' } });
    expect((error as Error).cause).toMatchObject({ code: 'PROTOCOL_ERROR' });
  });
});
