/**
 * `downlink/diag`, written once for the gateway that sends it and the devices that read it: the
 * gateway tells a device what went wrong with something it sent, as JSON `{ code, message }`,
 * `code` one of shared/errors.ts' codes (RATE_LIMITED, PAYLOAD_TOO_LARGE, TOPIC_UNSUPPORTED,
 * VALIDATION_FAILED, …). A diag is advice: the device keeps its configuration and its connection
 * (unless the gateway closes it). The gateway never ends a device through a diag: a deleted
 * device hears `downlink/wipe`, and a revoked or re-provisioned token is refused at CONNECT.
 */

export interface DeviceDiag {
  code: string;
  message: string;
}

export const diagPayload = (code: string, message: string): string => JSON.stringify({ code, message });

/** The diag in a payload; undefined when the payload is not one (a device never trusts its shape). */
export function parseDiag(payload: string): DeviceDiag | undefined {
  try {
    const value = JSON.parse(payload) as { code?: unknown; message?: unknown } | null;
    if (typeof value?.code !== 'string' || typeof value.message !== 'string') return undefined;
    return { code: value.code.slice(0, 64), message: value.message.slice(0, 512) };
  } catch {
    return undefined;
  }
}
