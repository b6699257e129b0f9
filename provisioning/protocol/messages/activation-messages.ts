/**
 * tether-activation: Tether's own endpoint, carried in the same encrypted protocomm session. The
 * companion hands over the dynamic token, the broker URL and the template id; the device answers
 * with its hardware id, or a status saying why it refused.
 */
import { TetherError } from '../../../shared/errors.js';
import { decodeMessage, encodeMessage, numberField, stringField, withoutDefaults } from './proto-schema.js';

export interface ActivationRequest {
  token: string;
  brokerUrl: string;
  templateId: string;
}

/** Status of an activation answer, in wire order. */
export const ACTIVATION_STATUSES = [
  'ok',
  'invalid-argument',
  'template-mismatch',
  'not-ready',
  'internal-error',
] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];

export interface ActivationResponse {
  status: ActivationStatus;
  hardwareId: string;
  /** Why it was refused, for a person (never a secret). */
  message?: string;
}

export const encodeActivationRequest = (request: ActivationRequest): Uint8Array =>
  encodeMessage(
    'ActivationRequest',
    withoutDefaults({ token: request.token, broker_url: request.brokerUrl, template_id: request.templateId }),
  );

export function decodeActivationRequest(bytes: Uint8Array): ActivationRequest {
  const message = decodeMessage('ActivationRequest', bytes, 'activation request');
  return {
    token: stringField(message, 'token'),
    brokerUrl: stringField(message, 'broker_url'),
    templateId: stringField(message, 'template_id'),
  };
}

export const encodeActivationResponse = (response: ActivationResponse): Uint8Array =>
  encodeMessage(
    'ActivationResponse',
    withoutDefaults({
      status: ACTIVATION_STATUSES.indexOf(response.status),
      hardware_id: response.hardwareId,
      message: response.message,
    }),
  );

export function decodeActivationResponse(bytes: Uint8Array): ActivationResponse {
  const message = decodeMessage('ActivationResponse', bytes, 'activation response');
  const code = numberField(message, 'status');
  const status = ACTIVATION_STATUSES[code];
  if (!status) throw new TetherError('PROTOCOL_ERROR', `Unknown activation status ${code} from the device.`);
  const text = stringField(message, 'message');
  const response: ActivationResponse = { status, hardwareId: stringField(message, 'hardware_id') };
  if (text) response.message = text;
  return response;
}
