/** Scenario parsing (every problem at once), seeded behaviour assignment and the summary maths. */
import { describe, expect, it } from 'vitest';
import { makeFactoryData } from '../../firmware-sim/factory-data.js';
import { assignBehaviours, parseScenario, readScenarioFile } from '../../firmware-sim/fleet-scenario.js';
import { type FleetDeviceResult, percentile, summarize } from '../../firmware-sim/fleet-summary.js';
import { seededRandom } from '../../firmware-sim/telemetry.js';
import { isTetherError } from '../../shared/errors.js';

describe('fleet scenario', () => {
  it('fills in the defaults of a real device: security 2, Edgent 50 s timeouts', () => {
    expect(parseScenario({})).toMatchObject({
      security: 2,
      transport: 'softap',
      cloudTimeoutSeconds: 50,
      wifiTimeoutSeconds: 50,
      mix: { wrongPassword: 0, reset: 0 },
    });
  });

  it('reports every problem at once', () => {
    try {
      parseScenario({ security: 3, concurrency: 0, mix: { wrongPassword: 2, typo: 0.1 } });
      expect.unreachable();
    } catch (error) {
      expect(isTetherError(error) && error.code).toBe('VALIDATION_FAILED');
      const problems = (error as { details: { problems: string[] } }).details.problems.join('\n');
      expect(problems).toMatch(/security/);
      expect(problems).toMatch(/concurrency/);
      expect(problems).toMatch(/mix\.wrongPassword/);
      expect(problems).toMatch(/typo/);
    }
  });

  it('refuses shares that add up to more than the fleet', () => {
    expect(() => parseScenario({ mix: { wrongPassword: 0.6, reset: 0.5 } })).toThrow(/more than 1/);
  });

  it('deals exact shares, the same way for the same seed', () => {
    const mix = parseScenario({ mix: { wrongPassword: 0.1, neverConnect: 0.05, reset: 0.25 } }).mix;
    const a = assignBehaviours(200, mix, seededRandom(9));
    expect(a.filter((b) => b === 'wrong-password')).toHaveLength(20);
    expect(a.filter((b) => b === 'never-connect')).toHaveLength(10);
    expect(a.filter((b) => b === 'reset')).toHaveLength(50);
    expect(a.filter((b) => b === 'normal')).toHaveLength(120);
    expect(assignBehaviours(200, mix, seededRandom(9))).toEqual(a);
    expect(assignBehaviours(200, mix, seededRandom(10))).not.toEqual(a);
  });
});

describe('fleet summary', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
    expect(percentile([], 50)).toBe(0);
  });

  it('counts failures by code and last_error, and sums the traffic', () => {
    const base: FleetDeviceResult = {
      index: 0,
      name: 'D',
      hardwareId: 'H',
      behaviour: 'normal',
      outcome: 'active',
      lastError: 0,
      latencyMs: 100,
      finalState: 'running',
      published: 5,
      reconnects: 1,
      networkDrops: 0,
      wiped: false,
    };
    const { latencyMs: _none, ...unactivated } = { ...base, finalState: 'off', published: 0, reconnects: 0 };
    const summary = summarize(
      [
        base,
        { ...base, latencyMs: 300, wiped: true, finalState: 'wait-config' },
        { ...unactivated, outcome: 'failed', code: 'WIFI_AUTH_FAILED', lastError: 701 },
        { ...unactivated, outcome: 'failed', code: 'TIMEOUT', lastError: 702 },
      ],
      { users: 2, security: 1, workers: 0, provisioningMs: 1_000, runMs: 2_000 },
    );
    expect(summary).toMatchObject({
      devices: 4,
      activated: 2,
      failed: { 'WIFI_AUTH_FAILED (701)': 1, 'TIMEOUT (702)': 1 },
      latencyMs: { p50: 100, p99: 300, max: 300, mean: 200 },
      activationsPerSecond: 2,
      messagesSent: 10,
      reconnects: 2,
      resets: 1,
      online: 1,
    });
  });
});

describe('the shipped example scenario', () => {
  it('parses', async () => {
    const scenario = await readScenarioFile(
      new URL('../../firmware-sim/scenarios/mixed-failures.json', import.meta.url).pathname,
    );
    expect(scenario.mix.wrongPassword).toBe(0.1);
  });
});

describe('fleet hardware ids', () => {
  it('are unique across a large fleet (a shared MAC would make two devices fight over one MQTT client id)', () => {
    const ids = new Set<string>();
    const start = 0xfffff0; // wraps past 2^24 inside the range
    for (let i = 0; i < 50_000; i++) {
      ids.add(makeFactoryData({ templateId: 'T', random: seededRandom(i), serial: start + i }).hardwareId);
    }
    expect(ids.size).toBe(50_000);
  });
});
