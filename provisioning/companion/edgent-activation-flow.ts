/**
 * Activation over Blynk.Edgent's legacy, plaintext provisioning, for older devices. Only for a
 * product that opts in (its template allows security 0); the person is warned that the Wi-Fi
 * passphrase and the token cross the air in the clear. Same steps and errors as the secure flow
 * where they exist, so the CLI shows both alike.
 */
import { TetherError } from '../../shared/errors.js';
import { createEdgentClient, EDGENT_PLAINTEXT_WARNING, type EdgentClient } from '../edgent/edgent-client.js';
import {
  type ActivationGateway,
  type ActivationResult,
  type ActivationStep,
  followCloudActivation,
  shouldGiveBackSession,
  stepRunner,
} from './activation-flow.js';

export interface EdgentActivationInput {
  templateId: string;
  /** host:port of the device's config server (192.168.4.1:80 on its access point). */
  address: string;
  wifi: { ssid: string; passphrase: string };
  deviceName?: string;
  cloudTimeoutMs?: number;
  onStep?: (step: ActivationStep, status: 'start' | 'done', detail?: string) => void;
  /** Shown to the person before anything is sent. */
  onWarning?: (warning: string) => void;
}

export async function activateEdgentDevice(
  gateway: ActivationGateway,
  input: EdgentActivationInput,
): Promise<Omit<ActivationResult, 'security'> & { security: 0; warning: string }> {
  const started = Date.now();
  const step = stepRunner(input.onStep);

  const session = await step(
    'gateway-session',
    () => gateway.createProvisioningSession(input.templateId, input.deviceName),
    (s) => `device ${s.deviceId}`,
  );
  // Subscribe, then act (as activateDevice): the outcome is pushed the moment it happens.
  const cloud = followCloudActivation(gateway, session.deviceId);
  let board: Awaited<ReturnType<EdgentClient['boardInfo']>>;
  try {
    // No silent downgrade: plaintext is allowed only for a product whose minimum security is 0.
    const client = await step('connect', async () =>
      createEdgentClient({ address: input.address, allowPlaintext: session.minSecurity === 0 }),
    );
    input.onWarning?.(EDGENT_PLAINTEXT_WARNING);
    board = await step(
      'proto-ver',
      async () => {
        const info = await client.boardInfo();
        if (info.templateId !== session.templateId) {
          throw new TetherError(
            'TEMPLATE_MISMATCH',
            `The device is a ${info.templateId} product, not ${session.templateId}.`,
          );
        }
        return info;
      },
      (b) => `Blynk.Edgent ${b.firmwareVersion}, plaintext`,
    );
    const broker = new URL(session.brokerUrl);
    await step(
      'wifi',
      () =>
        client.provision({
          ssid: input.wifi.ssid,
          passphrase: input.wifi.passphrase,
          token: session.token,
          host: broker.hostname,
          port: Number(broker.port || 1883),
        }),
      (r) => r.outcome,
    );
  } catch (error) {
    cloud.stop();
    if (shouldGiveBackSession(error)) {
      await gateway.cancelProvisioningSession?.(session.deviceId).catch(() => undefined);
    }
    throw error;
  }
  const device = await step('cloud-activation', () => cloud.wait(input.cloudTimeoutMs ?? 60_000));
  return {
    deviceId: session.deviceId,
    hardwareId: board.mac,
    ownerId: device.ownerId,
    security: 0,
    deviceReportedSecurity: device.provisioningSecurity ?? 'unknown',
    durationMs: Date.now() - started,
    warning: EDGENT_PLAINTEXT_WARNING,
  };
}
