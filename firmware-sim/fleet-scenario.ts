/**
 * A fleet scenario: the mix of behaviours a run exercises, seeded so a run can be repeated. One
 * schema gives the defaults and every error at once (as the gateway's configuration does).
 *
 *   { "seed": 42, "security": 2, "durationSeconds": 30, "publishIntervalSeconds": 10,
 *     "mix": { "wrongPassword": 0.1, "networkNotFound": 0.05, "neverConnect": 0.05,
 *              "flakyWifi": 0.1, "reset": 0.05 } }
 */
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { TetherError } from '../shared/errors.js';
import { FLEET_MAX_SEED } from './factory-data.js';

const Share = (description: string) => Type.Number({ minimum: 0, maximum: 1, default: 0, description });

export const FleetMixSchema = Type.Object(
  {
    wrongPassword: Share('Enter a wrong Wi-Fi passphrase first, then correct it in the same session.'),
    wrongPasswordUncorrected: Share(
      'Enter a wrong passphrase and give up: WIFI_AUTH_FAILED, last_error 701.',
    ),
    networkNotFound: Share('Name a network the device cannot see: WIFI_NETWORK_NOT_FOUND, 701.'),
    neverConnect: Share('Join a network with no route to the broker: the device never connects (702).'),
    flakyWifi: Share('Associations drop half the time and the link drops while running: reconnects.'),
    reset: Share('Activated, then the reset button is held 10 s during the run: wiped.'),
  },
  { default: {}, additionalProperties: false },
);

export const FleetScenarioSchema = Type.Object(
  {
    seed: Type.Integer({
      minimum: 0,
      maximum: FLEET_MAX_SEED,
      description:
        'Repeats a run: the same seed gives the same devices (hardware ids, PoPs, fates). Random when absent, so fleets started together never share hardware ids.',
    }),
    security: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
      default: 2,
      description: 'Provisioning security: 2 (SRP6a, the default of real devices) costs the most CPU.',
    }),
    transport: Type.Union([Type.Literal('softap'), Type.Literal('memory')], {
      default: 'softap',
      description: 'softap: HTTP on loopback per device, as esp_prov; memory: no sockets while provisioning.',
    }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 32,
      description: 'Activations in flight.',
    }),
    durationSeconds: Type.Number({
      minimum: 0,
      default: 0,
      description: 'Stay online this long after the last activation (0: stop at once).',
    }),
    publishIntervalSeconds: Type.Number({
      minimum: 0,
      default: 10,
      description: 'Telemetry period (0: off).',
    }),
    cloudTimeoutSeconds: Type.Number({
      minimum: 0.1,
      default: 50,
      description: "The device's cloud timeout (Edgent: 50 s); never-connect devices wait it out.",
    }),
    wifiTimeoutSeconds: Type.Number({ minimum: 0.1, default: 50 }),
    resetHoldSeconds: Type.Number({
      minimum: 0,
      default: 10,
      description: 'How long reset devices hold the button (the firmware wipes at 10 s or more).',
    }),
    joinDelayMs: Type.Integer({ minimum: 0, default: 300, description: 'How long one association takes.' }),
    mix: FleetMixSchema,
  },
  { default: {}, additionalProperties: false },
);

export type FleetMix = Static<typeof FleetMixSchema>;
export type FleetScenario = Static<typeof FleetScenarioSchema>;

export type DeviceBehaviour =
  | 'normal'
  | 'wrong-password'
  | 'wrong-password-uncorrected'
  | 'network-not-found'
  | 'never-connect'
  | 'flaky-wifi'
  | 'reset';

const MIX_BEHAVIOUR: Record<keyof FleetMix, DeviceBehaviour> = {
  wrongPassword: 'wrong-password',
  wrongPasswordUncorrected: 'wrong-password-uncorrected',
  networkNotFound: 'network-not-found',
  neverConnect: 'never-connect',
  flakyWifi: 'flaky-wifi',
  reset: 'reset',
};

/** What the companion should see for each behaviour: the check a fleet test makes. */
export const EXPECTED_OUTCOME: Record<
  DeviceBehaviour,
  { active: boolean; code?: string; lastError?: number }
> = {
  normal: { active: true },
  'wrong-password': { active: true },
  'wrong-password-uncorrected': { active: false, code: 'WIFI_AUTH_FAILED', lastError: 701 },
  'network-not-found': { active: false, code: 'WIFI_NETWORK_NOT_FOUND', lastError: 701 },
  'never-connect': { active: false, code: 'TIMEOUT', lastError: 702 },
  'flaky-wifi': { active: true },
  reset: { active: true },
};

/** Defaults filled in (a random seed when none is given) and every problem reported at once. */
export function parseScenario(input: unknown): FleetScenario {
  const given = structuredClone(input ?? {}) as unknown;
  if (typeof given === 'object' && given !== null && !Array.isArray(given) && !Object.hasOwn(given, 'seed'))
    Object.assign(given, { seed: randomInt(0, FLEET_MAX_SEED + 1) });
  const withDefaults = Value.Default(FleetScenarioSchema, given) as unknown;
  const problems = [...Value.Errors(FleetScenarioSchema, withDefaults)]
    .filter((error) => error.keyword !== 'boolean')
    .map((error) => {
      const at = error.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
      const unknown = (error.params as { additionalProperties?: string[] }).additionalProperties;
      return unknown ? `${at}: unknown field(s) ${unknown.join(', ')}` : `${at}: ${error.message}`;
    });
  const scenario = withDefaults as FleetScenario;
  if (problems.length === 0) {
    const total = Object.values(scenario.mix).reduce((sum, share) => sum + share, 0);
    if (total > 1 + 1e-9) problems.push(`mix: the shares add up to ${total.toFixed(3)}, more than 1`);
  }
  if (problems.length > 0) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `The fleet scenario is invalid:\n  - ${problems.join('\n  - ')}`,
      {
        details: { problems },
      },
    );
  }
  return scenario;
}

export async function readScenarioFile(file: string): Promise<FleetScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TetherError('VALIDATION_FAILED', `Cannot read the scenario file ${file}.`, { cause: error });
  }
  try {
    return parseScenario(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new TetherError('VALIDATION_FAILED', `${file} is not JSON: ${error.message}`);
    throw error;
  }
}

/**
 * One behaviour per device: exactly round(share · count) of each, the rest normal, shuffled with
 * the scenario's seed, so the same scenario and count give the same devices the same fate.
 */
export function assignBehaviours(count: number, mix: FleetMix, random: () => number): DeviceBehaviour[] {
  const out: DeviceBehaviour[] = [];
  for (const [key, behaviour] of Object.entries(MIX_BEHAVIOUR) as Array<[keyof FleetMix, DeviceBehaviour]>) {
    const n = Math.round((mix[key] ?? 0) * count);
    for (let i = 0; i < n && out.length < count; i++) out.push(behaviour);
  }
  while (out.length < count) out.push('normal');
  // Fisher–Yates with the seeded PRNG.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
