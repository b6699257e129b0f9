/**
 * Activation data on the device, from either door: Tether's `tether-activation` endpoint
 * (protobuf, what Tether's companion sends) or ESP-IDF's standard `custom-data` endpoint (JSON,
 * what `esp_prov --custom_data` sends). Both check the request the same way, refuse a template
 * that is not this device's (deny by default), then hand token and broker URL to the device.
 * The token is never logged.
 */

import { isTetherError, TetherError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { ActivationHandler } from '../device-handlers.js';
import {
  type ActivationRequest,
  type ActivationResponse,
  decodeActivationRequest,
  encodeActivationResponse,
} from '../messages/activation-messages.js';
import { decodeCustomDataActivation, encodeCustomDataAnswer } from '../messages/custom-data-activation.js';

/** A Blynk-style token is 32 characters; allow room for other formats, not for abuse. */
const MAX_TOKEN_LENGTH = 256;
const MAX_URL_LENGTH = 512;

/** tether-activation: every outcome is an encrypted answer with a status. */
export async function handleActivation(
  handler: ActivationHandler,
  templateId: string,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  return encodeActivationResponse(
    await activate(handler, templateId, decodeActivationRequest(plaintext), log),
  );
}

/**
 * custom-data: esp_prov prints whatever the device answers and carries on, so only success is an
 * answer; a refusal throws (the transport answers an error) and esp_prov stops before Wi-Fi.
 */
export async function handleCustomDataActivation(
  handler: ActivationHandler,
  templateId: string,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  const response = await activate(handler, templateId, decodeCustomDataActivation(plaintext), log);
  if (response.status === 'ok') return encodeCustomDataAnswer(response.hardwareId);
  log.warn({ status: response.status, reason: response.message }, 'custom-data activation refused');
  const code =
    response.status === 'template-mismatch'
      ? 'TEMPLATE_MISMATCH'
      : response.status === 'invalid-argument'
        ? 'VALIDATION_FAILED'
        : 'INTERNAL';
  throw new TetherError(code, response.message ?? 'The device refused the activation data.');
}

async function activate(
  handler: ActivationHandler,
  templateId: string,
  request: ActivationRequest,
  log: Logger,
): Promise<ActivationResponse> {
  const refuse = (status: ActivationResponse['status'], message: string): ActivationResponse => ({
    status,
    hardwareId: '',
    message,
  });

  if (!request.token || request.token.length > MAX_TOKEN_LENGTH) {
    return refuse('invalid-argument', 'The activation token is missing or too long.');
  }
  if (!isBrokerUrl(request.brokerUrl)) {
    return refuse(
      'invalid-argument',
      'The broker URL must be mqtt://, mqtts://, ws:// or wss:// with a host.',
    );
  }
  if (request.templateId !== templateId) {
    return refuse(
      'template-mismatch',
      `This device is made from template ${templateId}, not ${request.templateId.slice(0, 40) || '(none)'}.`,
    );
  }
  try {
    const { hardwareId } = await handler.activate(request);
    log.info({ templateId }, 'activation data accepted');
    return { status: 'ok', hardwareId };
  } catch (error) {
    if (isTetherError(error) && error.code === 'TEMPLATE_MISMATCH')
      return refuse('template-mismatch', error.message);
    if (isTetherError(error) && error.code === 'VALIDATION_FAILED')
      return refuse('invalid-argument', error.message);
    log.warn({ err: error }, 'activation handler failed');
    return refuse('internal-error', 'The device could not store the activation data.');
  }
}

function isBrokerUrl(value: string): boolean {
  if (value.length === 0 || value.length > MAX_URL_LENGTH) return false;
  try {
    const url = new URL(value);
    return ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}
