/**
 * The companion's activation flow: the numbered steps a person walks through to put a device on
 * Wi-Fi and into their account. Each step reports its progress; a failure names its step, carries
 * a stable code, and says what the person can do. The flow talks to a ProvisioningTransport (any
 * radio) and to the gateway through a small interface, never to a radio or HTTP directly.
 */
import { type ErrorCode, isTetherError, TetherError } from '../../shared/errors.js';
import type { ProvisioningOutcome, ProvisioningSessionInfo } from '../../shared/gateway-client.js';
import type { SecurityVersion } from '../protocol/messages/session-messages.js';
import type { WifiCredentials } from '../protocol/messages/wifi-config-messages.js';
import { ProtocommClient, type ProtocommClientOptions } from '../protocol/protocomm-client.js';
import type { ProvisioningTransport } from '../transport/transport.js';

export const ACTIVATION_STEPS = [
  'gateway-session',
  'connect',
  'proto-ver',
  'secure-session',
  'activation-data',
  'wifi',
  'cloud-activation',
] as const;

export type ActivationStep = (typeof ACTIVATION_STEPS)[number];

export const STEP_LABELS: Record<ActivationStep, string> = {
  'gateway-session': 'Open a provisioning session on the gateway',
  connect: 'Connect to the device',
  'proto-ver': 'Read the device protocol and security',
  'secure-session': 'Open a secure session (proof of possession)',
  'activation-data': 'Hand over the activation token',
  wifi: 'Join the device to Wi-Fi',
  'cloud-activation': 'Wait for the gateway to confirm the device',
};

/** What the flow needs from the gateway (GatewayClient implements it). */
export interface ActivationGateway {
  createProvisioningSession(templateId: string, name?: string): Promise<ProvisioningSessionInfo>;
  /** Give back a session the device can no longer use (so no pending device lingers). */
  cancelProvisioningSession?(deviceId: string): Promise<void>;
  waitForActivation(deviceId: string, options?: { signal?: AbortSignal }): Promise<ProvisioningOutcome>;
}

export interface ActivationInput {
  templateId: string;
  /** Device address for the transport (host:port for SoftAP, an id or name for BLE). */
  address: string;
  pop: string;
  wifi: WifiCredentials;
  deviceName?: string;
  /** Lowest security accepted; the template's minimum applies when it is higher. */
  minSecurity?: SecurityVersion;
  /** How long to wait for the device to reach the gateway after Wi-Fi is up. Default 60 s. */
  cloudTimeoutMs?: number;
  wifiTimeoutMs?: number;
  /** How often to ask the device for its Wi-Fi status. Default 1 s, as Espressif's apps. */
  wifiPollMs?: number;
  /**
   * Called when the device cannot join Wi-Fi (wrong passphrase, network not found). Return new
   * credentials to retry in the same session — no factory reset — or undefined to give up.
   */
  onWifiFailed?: (error: TetherError) => Promise<WifiCredentials | undefined>;
  onStep?: (step: ActivationStep, status: 'start' | 'done', detail?: string) => void;
  protocomm?: ProtocommClientOptions;
}

export interface ActivationResult {
  deviceId: string;
  hardwareId: string;
  ownerId: string | null;
  security: SecurityVersion;
  /**
   * The level the device itself reported to the gateway; 'unknown' for firmware that reports
   * none (stock Blynk firmware), which the gateway records as "security unknown".
   */
  deviceReportedSecurity: 0 | 1 | 2 | 'unknown';
  durationMs: number;
}

/** What the person can do next, per code: shown under the error. */
export const NEXT_STEP_HINTS: Partial<Record<string, string>> = {
  WIFI_AUTH_FAILED: 'Check the Wi-Fi passphrase and try again; the device is still waiting.',
  WIFI_NETWORK_NOT_FOUND: 'Check the network name, and that the device is in range of the access point.',
  POP_INVALID: 'Check the proof-of-possession code on the device label or its QR code.',
  POP_LOCKED_OUT: 'Too many wrong codes: wait for the lockout to end, then use the code on the label.',
  SECURITY_MISMATCH:
    'The device was (or would be) provisioned with weaker security than this product requires: provision it with the required level, or update its firmware.',
  TEMPLATE_MISMATCH:
    'The device runs firmware of another product: flash the right firmware or pick its template.',
  PROVISIONING_EXPIRED: 'The provisioning session ran out: start again.',
  DEVICE_UNREACHABLE: 'Make sure the device is in provisioning mode and nearby (or on the same network).',
  GATEWAY_UNREACHABLE: 'Check the gateway address and that it is running.',
  TIMEOUT: 'The device did not reach the gateway: check that the Wi-Fi network can reach the gateway.',
};

/** Refusals of the gateway that keep their own code (and hint) at the companion. */
const GATEWAY_REFUSALS: ReadonlySet<string> = new Set([
  'TEMPLATE_MISMATCH',
  'PROVISIONING_EXPIRED',
  'SECURITY_MISMATCH',
  'VALIDATION_FAILED',
]);

/** Wi-Fi failures after which the device is certainly still waiting in provisioning. */
const GIVE_BACK_AFTER: ReadonlySet<string> = new Set(['WIFI_AUTH_FAILED', 'WIFI_NETWORK_NOT_FOUND']);

/**
 * Whether a failed activation should give its session back. Yes, unless the link merely dropped
 * during Wi-Fi: a device that left its access point to join the network may be on its way to the
 * gateway with the token.
 */
export const shouldGiveBackSession = (error: unknown): boolean =>
  !isTetherError(error) || error.details?.step !== 'wifi' || GIVE_BACK_AFTER.has(error.code);

export async function activateDevice(
  transport: ProvisioningTransport,
  gateway: ActivationGateway,
  input: ActivationInput,
): Promise<ActivationResult> {
  const started = Date.now();
  const step = stepRunner(input.onStep);

  const session = await step(
    'gateway-session',
    () => gateway.createProvisioningSession(input.templateId, input.deviceName),
    (s) => `device ${s.deviceId}`,
  );
  const minSecurity = Math.max(input.minSecurity ?? 0, session.minSecurity) as SecurityVersion;
  // Subscribe, then act: the push stream is open before the device can reach the gateway, so
  // the outcome arrives the moment it happens, not when the companion asks after Wi-Fi is up.
  const cloud = followCloudActivation(gateway, session.deviceId);
  let security: SecurityVersion;
  let hardwareId: string;
  try {
    const link = await step(
      'connect',
      () => transport.connect(input.address),
      () => input.address,
    );
    const client = new ProtocommClient(link, { ...input.protocomm, minSecurity });
    try {
      await step(
        'proto-ver',
        async () => {
          const info = await client.getVersion();
          if (info.tether && info.tether.tmpl !== session.templateId) {
            throw new TetherError(
              'TEMPLATE_MISMATCH',
              `The device is a ${info.tether.tmpl} product, not ${session.templateId}.`,
              { details: { device: info.tether.tmpl, expected: session.templateId } },
            );
          }
          return info;
        },
        (v) => `${v.prov.ver}, security ${v.prov.secVer ?? '?'}`,
      );
      security = await step(
        'secure-session',
        () => client.establishSession({ pop: input.pop }),
        (s) => `security ${s}`,
      );
      ({ hardwareId } = await step(
        'activation-data',
        () =>
          client.activate({
            token: session.token,
            brokerUrl: session.brokerUrl,
            templateId: session.templateId,
          }),
        (r) => `hardware id ${r.hardwareId}`,
      ));
      await step(
        'wifi',
        async () => {
          let credentials = input.wifi;
          for (;;) {
            try {
              await client.setWifiConfig(credentials);
              await client.applyWifiConfig();
              return await client.waitForWifi({
                ...(input.wifiTimeoutMs ? { timeoutMs: input.wifiTimeoutMs } : {}),
                ...(input.wifiPollMs ? { intervalMs: input.wifiPollMs } : {}),
              });
            } catch (error) {
              const retryable =
                isTetherError(error) &&
                (error.code === 'WIFI_AUTH_FAILED' || error.code === 'WIFI_NETWORK_NOT_FOUND');
              const next = retryable && input.onWifiFailed ? await input.onWifiFailed(error) : undefined;
              if (!next) throw error;
              credentials = next;
            }
          }
        },
        (s) => `${s.ssid}, ip ${s.ip4Address}`,
      );
    } finally {
      await client.close().catch(() => undefined);
    }
  } catch (error) {
    cloud.stop();
    // The device never used this token: give the session back, so no pending device lingers.
    if (shouldGiveBackSession(error)) {
      await gateway.cancelProvisioningSession?.(session.deviceId).catch(() => undefined);
    }
    throw error;
  }

  const device = await step('cloud-activation', () => cloud.wait(input.cloudTimeoutMs ?? 60_000));
  return {
    deviceId: session.deviceId,
    hardwareId,
    ownerId: device.ownerId,
    security,
    deviceReportedSecurity: device.provisioningSecurity ?? 'unknown',
    durationMs: Date.now() - started,
  };
}

/** Runs named steps: reports start and end, and tags a failure with its step and a hint. */
export function stepRunner(report: ActivationInput['onStep'] = () => {}) {
  return async <T>(
    name: ActivationStep,
    run: () => Promise<T>,
    detail?: (value: T) => string,
  ): Promise<T> => {
    report(name, 'start');
    try {
      const value = await run();
      report(name, 'done', detail?.(value));
      return value;
    } catch (error) {
      throw inStep(error, name);
    }
  };
}

type ActiveDevice = Extract<ProvisioningOutcome, { state: 'active' }>['device'];

/** The gateway's push: resolves with the device once active; refusals keep their stable code. */
export async function waitForCloudActivation(
  gateway: ActivationGateway,
  deviceId: string,
  timeoutMs: number,
): Promise<ActiveDevice> {
  const signal = AbortSignal.timeout(timeoutMs);
  let outcome: ProvisioningOutcome;
  try {
    outcome = await gateway.waitForActivation(deviceId, { signal });
  } catch (error) {
    if (signal.aborted) throw cloudTimeout(timeoutMs);
    throw error;
  }
  return activeDevice(outcome);
}

/** A session's outcome followed from before the device can reach the gateway. */
export interface CloudActivationWatch {
  /** The device once active, waiting at most `timeoutMs` from now; refusals keep their code. */
  wait(timeoutMs: number): Promise<ActiveDevice>;
  /** Close the stream (the flow failed before the device could reach the gateway). */
  stop(): void;
}

/**
 * Opens the session's push stream now and keeps what it says until wait() asks. A stream that
 * breaks before an outcome (the gateway restarted, the phone changed networks) is opened once
 * more by wait(): the gateway answers a finished session's outcome at once.
 */
export function followCloudActivation(gateway: ActivationGateway, deviceId: string): CloudActivationWatch {
  const controller = new AbortController();
  const early = gateway.waitForActivation(deviceId, { signal: controller.signal });
  // Read by wait(); a flow that fails first only stops the stream.
  early.catch(() => undefined);
  return {
    async wait(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        let outcome: ProvisioningOutcome | 'timeout';
        try {
          outcome = await Promise.race([early, timedOut]);
        } catch {
          return await waitForCloudActivation(gateway, deviceId, Math.max(1, deadline - Date.now()));
        }
        if (outcome === 'timeout') throw cloudTimeout(timeoutMs);
        return activeDevice(outcome);
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
    },
    stop: () => controller.abort(),
  };
}

const cloudTimeout = (timeoutMs: number) =>
  new TetherError(
    'TIMEOUT',
    `The device did not reach the gateway within ${Math.round(timeoutMs / 1000)} s.`,
  );

function activeDevice(outcome: ProvisioningOutcome): ActiveDevice {
  if (outcome.state === 'active') return outcome.device;
  if (outcome.state === 'waiting')
    throw new TetherError('PROTOCOL_ERROR', 'The activation stream ended early.');
  throw new TetherError(
    GATEWAY_REFUSALS.has(outcome.code) ? (outcome.code as ErrorCode) : 'PROTOCOL_ERROR',
    outcome.message,
  );
}

export function inStep(error: unknown, step: ActivationStep): TetherError {
  const base = isTetherError(error)
    ? error
    : new TetherError('INTERNAL', `Unexpected failure: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
  const hint = NEXT_STEP_HINTS[base.code];
  return new TetherError(base.code, base.message, {
    cause: base.cause ?? error,
    details: { ...base.details, step, ...(hint ? { hint } : {}) },
  });
}
