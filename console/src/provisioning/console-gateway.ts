/**
 * What the activation flow needs from the gateway, over the console's API client: the same three
 * calls `tether provision` makes through GatewayClient (open a provisioning session, give it back,
 * follow its outcome as a push stream), with the same wire shapes (shared/gateway-client.ts).
 * Failures become TetherErrors with the gateway's code, so the flow names the step and its hint.
 */
import type { ActivationGateway } from '../../../provisioning/companion/activation-flow.js';
import { isErrorCode, TetherError } from '../../../shared/errors.js';
import type { ProvisioningOutcome, ProvisioningSessionInfo } from '../../../shared/gateway-client.js';
import { type Api, ApiError } from '../api.js';

const sessionPath = (deviceId: string) => `/api/provisioning/sessions/${encodeURIComponent(deviceId)}`;

export function consoleGateway(api: Api): ActivationGateway {
  return {
    createProvisioningSession: (templateId, name) =>
      coded(
        api.request<ProvisioningSessionInfo>(
          'POST',
          '/api/provisioning/sessions',
          name ? { templateId, name } : { templateId },
        ),
      ),

    cancelProvisioningSession: (deviceId) => coded(api.request<void>('DELETE', sessionPath(deviceId))),

    async waitForActivation(deviceId, options = {}) {
      const done = new AbortController();
      const stop = () => done.abort();
      options.signal?.addEventListener('abort', stop, { once: true });
      let outcome: ProvisioningOutcome | undefined;
      try {
        await api.stream(
          `${sessionPath(deviceId)}/events`,
          (event) => {
            const next = event.data as unknown as ProvisioningOutcome;
            if (next.state === 'waiting') return;
            outcome = next;
            done.abort(); // the final word: stop reading
          },
          done.signal,
        );
      } catch (error) {
        if (!outcome) throw options.signal?.aborted ? error : asTetherError(error);
      } finally {
        options.signal?.removeEventListener('abort', stop);
      }
      if (outcome) return outcome;
      throw new TetherError(
        'GATEWAY_UNREACHABLE',
        'The gateway closed the activation stream before an outcome.',
      );
    },
  };
}

async function coded<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw asTetherError(error);
  }
}

function asTetherError(error: unknown): TetherError {
  if (error instanceof TetherError) return error;
  if (error instanceof ApiError) {
    return new TetherError(isErrorCode(error.code) ? error.code : 'INTERNAL', error.message, {
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
  return new TetherError('INTERNAL', (error as Error)?.message ?? String(error), { cause: error });
}
