/**
 * What the device services need from whatever holds the devices' connections (the MQTT broker):
 * reach a connected device, learn that it answered, or drop it. The port belongs to the device
 * services; the broker implements it.
 */

export interface DownlinkConfirmation {
  /** The device was connected when the downlink was sent. */
  online: boolean;
  /** The device acknowledged it (MQTT PUBACK) within the time allowed. */
  acked: boolean;
  /** Milliseconds from sending to the PUBACK, when acknowledged. */
  rttMs?: number;
}

export interface DeviceConnections {
  isConnected(deviceId: string): boolean;
  /**
   * Publish on a device's downlink; false when the device is not connected. Throws
   * PAYLOAD_TOO_LARGE, sending nothing, when the message would not fit the receive buffer the
   * device announced in info/mcu (`rxbuff`).
   */
  sendToDevice(deviceId: string, deviceTopic: string, payload: string, qos?: 0 | 1): boolean;
  /**
   * Publish at QoS 1 (whatever the device's subscription asked for) and wait for its PUBACK, at
   * most `timeoutMs`. Throws PAYLOAD_TOO_LARGE as sendToDevice does.
   */
  sendAndConfirm(
    deviceId: string,
    deviceTopic: string,
    payload: string,
    timeoutMs: number,
  ): Promise<DownlinkConfirmation>;
  /** Drop the device's connection; with `last`, send that message first. Resolves once closed. */
  disconnect(deviceId: string, reason: string, last?: { topic: string; payload: string }): Promise<boolean>;
}
