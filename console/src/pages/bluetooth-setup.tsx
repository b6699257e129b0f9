/** Setting a device up over Bluetooth (Web Bluetooth, ESP-IDF protocomm over GATT). */
import { Notice } from '../ui/components.js';

export function BluetoothSetup() {
  const available = typeof navigator !== 'undefined' && 'bluetooth' in navigator && window.isSecureContext;
  return (
    <section class="card" aria-labelledby="ble-title">
      <h2 id="ble-title">Set up over Bluetooth</h2>
      {available ? (
        <Notice>
          Bluetooth set-up from the browser is on its way; until then use <code>tether provision</code>.
        </Notice>
      ) : (
        <Notice kind="warning">
          This browser cannot reach Bluetooth devices (Web Bluetooth needs Chrome or Edge, and the console on
          localhost or HTTPS). Use <code>tether provision</code>, or claim the device by code.
        </Notice>
      )}
    </section>
  );
}
