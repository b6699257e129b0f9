/** A simulated device on a ManualClock with an in-memory cloud: every wait is moved, not slept. */

import { makeFactoryData } from '../../firmware-sim/factory-data.js';
import { FakeCloud } from '../../firmware-sim/fake-cloud.js';
import { type Flash, MemoryFlash } from '../../firmware-sim/flash.js';
import { type AccessPoint, SimulatedAir } from '../../firmware-sim/radio.js';
import {
  type DeviceState,
  type DeviceTimings,
  SimulatedDevice,
} from '../../firmware-sim/simulated-device.js';
import { seededRandom } from '../../firmware-sim/telemetry.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';

export const HOME: AccessPoint = { ssid: 'home', passphrase: 'hunter22hunter22', rssi: -55 };
export const TEMPLATE = 'TMPL0001';
export const TOKEN = 'A'.repeat(32);
export const BROKER = 'mqtt://broker.test:1883';

export interface DeviceFixture {
  clock: ManualClock;
  cloud: FakeCloud;
  air: SimulatedAir;
  flash: Flash;
  device: SimulatedDevice;
  /** Every state change, in order, since the fixture was built. */
  states: DeviceState[];
  /** Hand over activation data and Wi-Fi in one provisioning session, as the companion does. */
  provision: (wifi?: { ssid: string; passphrase: string }) => void;
  /**
   * Move the clock, letting the device's own async steps (flash commits, connects) settle before
   * and after, so timers they schedule on the way are there to fire.
   */
  advance: (ms: number) => Promise<void>;
  /**
   * Let real time pass (file I/O of FileFlash) without moving the clock, until `predicate` holds;
   * throws after `realMs`.
   */
  until: (predicate: () => boolean, realMs?: number) => Promise<void>;
  /** A second power-on of the same hardware (same flash, same air and cloud). */
  restart: () => Promise<SimulatedDevice>;
}

export async function deviceFixture(
  input: { aps?: AccessPoint[]; flash?: Flash; timings?: Partial<DeviceTimings>; seed?: number } = {},
): Promise<DeviceFixture> {
  const clock = new ManualClock();
  const cloud = new FakeCloud(clock);
  const random = seededRandom(input.seed ?? 7);
  const air = new SimulatedAir(input.aps ?? [HOME], random);
  const flash = input.flash ?? new MemoryFlash();
  const factory = makeFactoryData({ templateId: TEMPLATE, random });
  const states: DeviceState[] = [];
  const build = () => {
    const device = new SimulatedDevice({
      factory,
      datastreams: [
        { name: 'temp', type: 'double', min: -40, max: 125 },
        { name: 'mode', type: 'enum', values: ['eco', 'boost'] },
      ],
      flash,
      air,
      clock,
      logger: silentLogger(),
      random,
      cloud: cloud.connector,
      timings: { telemetryIntervalMs: 0, ...input.timings },
    });
    device.on('state', ({ to }) => states.push(to));
    return device;
  };
  const fixture: DeviceFixture = {
    clock,
    cloud,
    air,
    flash,
    device: build(),
    states,
    provision: (wifi = HOME) => {
      fixture.device.sessionOpened();
      fixture.device.activate({ token: TOKEN, brokerUrl: BROKER, templateId: TEMPLATE });
      fixture.device.setWifiConfig(wifi.ssid, wifi.passphrase);
      fixture.device.applyWifiConfig();
    },
    advance: async (ms) => {
      await settle(clock);
      await clock.advance(ms);
      await settle(clock);
    },
    until: async (predicate, realMs = 3_000) => {
      const deadline = Date.now() + realMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`condition not met; device is ${fixture.device.state}`);
        await settle(clock);
      }
    },
    restart: async () => {
      await fixture.device.stop();
      fixture.device = build();
      await fixture.device.start();
      return fixture.device;
    },
  };
  await fixture.device.start();
  return fixture;
}

async function settle(clock: ManualClock): Promise<void> {
  // Real file I/O (FileFlash) needs real time; a few milliseconds is plenty on loopback disks.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    await clock.advance(0);
  }
}
