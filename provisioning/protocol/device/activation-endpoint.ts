/**
 * tether-activation on the device: check the request, refuse a template that is not this device's
 * (deny by default), then hand token and broker URL to the device. The token is never logged.
 */

import { isTetherError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { ActivationHandler } from '../device-handlers.js';
import {
  type ActivationResponse,
  decodeActivationRequest,
  encodeActivationResponse,
} from '../messages/activation-messages.js';

/** A Blynk-style token is 32 characters; allow room for other formats, not for abuse. */
const MAX_TOKEN_LENGTH = 256;
const MAX_URL_LENGTH = 512;

export async function handleActivation(
  handler: ActivationHandler,
  templateId: string,
  plaintext: Uint8Array,
  log: Logger,
): Promise<Uint8Array> {
  const request = decodeActivationRequest(plaintext);
  const refuse = (status: ActivationResponse['status'], message: string) =>
    encodeActivationResponse({ status, hardwareId: '', message });

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
      `This device is made from template ${templateId}, not ${request.templateId || '(none)'}.`,
    );
  }
  try {
    const { hardwareId } = await handler.activate(request);
    log.info({ templateId }, 'activation data accepted');
    return encodeActivationResponse({ status: 'ok', hardwareId });
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
