/**
 * One place that picks the BLE transport for the companion: the simulated medium (a folder on
 * this machine that the firmware-sim advertises in) or a real adapter through noble. Choosing
 * noble loads nothing yet: the adapter is imported on the first discover() or connect().
 */
import { NobleBleTransport, type NobleBleTransportOptions } from './ble-noble.js';
import { SimBleTransport, type SimBleTransportOptions } from './sim-ble-central.js';

export type BleTransportOptions =
  | ({ medium: 'simulated' } & SimBleTransportOptions)
  | ({ medium: 'noble' } & NobleBleTransportOptions);

export function createBleTransport(
  options: { medium: 'simulated' } & SimBleTransportOptions,
): SimBleTransport;
export function createBleTransport(
  options: { medium: 'noble' } & NobleBleTransportOptions,
): NobleBleTransport;
export function createBleTransport(options: BleTransportOptions): SimBleTransport | NobleBleTransport;
export function createBleTransport(options: BleTransportOptions): SimBleTransport | NobleBleTransport {
  const { medium, ...rest } = options;
  return medium === 'simulated'
    ? new SimBleTransport(rest as SimBleTransportOptions)
    : new NobleBleTransport(rest as NobleBleTransportOptions);
}
