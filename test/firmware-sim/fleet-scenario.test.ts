/** Scenario parsing (every problem at once), seeded behaviour assignment and the summary maths. */
import { describe, expect, it } from 'vitest';
import {
  FLEET_MAX_DEVICES,
  FLEET_MAX_SEED,
  fleetMacAddress,
  makeFactoryData,
} from '../../firmware-sim/factory-data.js';
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
  const hex = (octets: number[]) => octets.map((b) => b.toString(16).padStart(2, '0')).join(':');

  it('are locally administered unicast MACs, the same for the same seed and index', () => {
    const mac = fleetMacAddress(20261128, 7);
    expect(mac).toHaveLength(6);
    expect(mac[0]! & 0b11).toBe(0b10); // U/L bit set, I/G (multicast) bit clear
    expect(mac.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true);
    expect(fleetMacAddress(20261128, 7)).toEqual(mac);
    const factory = makeFactoryData({ templateId: 'T', random: seededRandom(1), mac });
    expect(factory.hardwareId).toBe(hex(mac).toUpperCase());
  });

  it('never repeat across fleets started together with different seeds', () => {
    const asNumber = (octets: number[]) => octets.reduce((n, b) => n * 256 + b, 0);
    const fleet = (seed: number, count: number) =>
      Array.from({ length: count }, (_, index) => asNumber(fleetMacAddress(seed, index)));
    // Seed pairs whose 1,000-device fleets shared hardware ids under the earlier scheme (a seeded
    // start plus the index, in the 24 bits after Espressif's OUI).
    for (const [a, b] of [
      [905, 911],
      [1401, 1596],
      [18, 1423],
      [1305, 1469],
    ] as const) {
      expect(new Set([...fleet(a, 1_000), ...fleet(b, 1_000)]).size).toBe(2_000);
    }
    const ids = new Set<number>();
    for (let seed = 1; seed <= 16; seed++) for (const id of fleet(seed, 20_000)) ids.add(id);
    expect(ids.size).toBe(16 * 20_000);
    // Neighbouring indexes at the edges of the ranges too.
    const edges = new Set<string>();
    for (const seed of [0, 1, FLEET_MAX_SEED - 1, FLEET_MAX_SEED])
      for (const index of [0, 1, FLEET_MAX_DEVICES - 2, FLEET_MAX_DEVICES - 1])
        edges.add(hex(fleetMacAddress(seed, index)));
    expect(edges.size).toBe(16);
  });

  it('refuse a seed or an index outside their ranges', () => {
    expect(() => fleetMacAddress(FLEET_MAX_SEED + 1, 0)).toThrow(RangeError);
    expect(() => fleetMacAddress(-1, 0)).toThrow(RangeError);
    expect(() => fleetMacAddress(1, FLEET_MAX_DEVICES)).toThrow(RangeError);
  });
});

describe('the fleet seed', () => {
  it('is random when the scenario gives none (so two fleets started together differ), and in range', () => {
    const seeds = new Set(Array.from({ length: 8 }, () => parseScenario({}).seed));
    expect(seeds.size).toBeGreaterThan(1);
    for (const seed of seeds) expect(seed >= 0 && seed <= FLEET_MAX_SEED).toBe(true);
    expect(parseScenario({ seed: 42 }).seed).toBe(42);
  });

  it('refuses a seed outside 0 … 2^26 − 1 with the field named', () => {
    for (const seed of [-1, FLEET_MAX_SEED + 1, 1.5]) {
      expect(() => parseScenario({ seed })).toThrow(/seed/);
    }
  });
});
