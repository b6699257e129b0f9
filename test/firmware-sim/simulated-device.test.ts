/**
 * The simulated device through every state and failure path of Blynk.Edgent-style firmware, on a
 * ManualClock with an in-memory cloud: 50 s timeouts and 10 s button holds take no real time.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFactoryData, qrPayload } from '../../firmware-sim/factory-data.js';
import { FileFlash } from '../../firmware-sim/flash.js';
import { seededRandom } from '../../firmware-sim/telemetry.js';
import { diagPayload } from '../../shared/device-diag.js';
import { EdgentLastError } from '../../shared/edgent-errors.js';
import { BROKER, type DeviceFixture, deviceFixture, HOME, TEMPLATE, TOKEN } from './device-fixture.js';

const fixtures: DeviceFixture[] = [];
const dirs: string[] = [];

async function fixture(...args: Parameters<typeof deviceFixture>): Promise<DeviceFixture> {
  const f = await deviceFixture(...args);
  fixtures.push(f);
  return f;
}

async function running(f: DeviceFixture): Promise<void> {
  f.provision();
  await f.advance(1_000);
  await f.until(() => f.device.state === 'running');
}

afterEach(async () => {
  for (const f of fixtures.splice(0)) {
    await f.device.stop();
    // Power off leaves nothing behind: no timer of the device is still pending.
    expect(f.clock.pendingTimers).toBe(0);
    expect(f.cloud.online).toBe(false);
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('simulated device: first configuration', () => {
  it('boots blank into wait-config, and walks configuring → connecting-net → connecting-cloud → running', async () => {
    const f = await fixture();
    expect(f.device.state).toBe('wait-config');
    expect(f.device.configValid).toBe(false);
    f.provision();
    expect(f.device.state).toBe('connecting-net');
    expect(f.device.wifiStatus.state).toBe('connecting');
    await f.advance(300);
    expect(f.states).toEqual(['wait-config', 'configuring', 'connecting-net', 'connecting-cloud', 'running']);
    expect(f.device.wifiStatus).toMatchObject({ state: 'connected', ssid: 'home' });
    expect(f.device.configValid).toBe(true);
    expect(f.device.lastError).toBe(EdgentLastError.none);
    // Blynk: info/mcu on connect, with the template and (beyond) the hardware id.
    const info = f.cloud.published.find((p) => p.topic === 'info/mcu');
    expect(JSON.parse(info!.payload)).toMatchObject({ tmpl: TEMPLATE, hwid: f.device.factory.hardwareId });
    expect(f.cloud.attempts[0]).toMatchObject({ brokerUrl: BROKER, token: TOKEN });
  });

  it('marks the configuration valid only after the first cloud connection', async () => {
    const f = await fixture();
    f.cloud.mode = 'silent';
    f.provision();
    await f.advance(20_000);
    expect(f.device.state).toBe('connecting-cloud');
    const stored = await f.flash.read();
    expect(stored.cloud?.token).toBe(TOKEN);
    expect(stored.configValid).not.toBe(true);
    // A power cycle now boots into provisioning, not into a half-made configuration.
    const again = await f.restart();
    expect(again.state).toBe('wait-config');
  });

  it('refuses malformed activation data with last_error 700', async () => {
    const f = await fixture();
    expect(() => f.device.activate({ token: 'short', brokerUrl: BROKER, templateId: TEMPLATE })).toThrow(
      /32-character token/,
    );
    expect(f.device.lastError).toBe(EdgentLastError.config);
  });
});

describe('simulated device: Wi-Fi failures', () => {
  it('reports a wrong passphrase (701) and takes corrected credentials in the same session', async () => {
    const f = await fixture();
    f.provision({ ssid: 'home', passphrase: 'wrong-password' });
    await f.advance(300);
    expect(f.device.wifiStatus).toEqual({ state: 'failed', reason: 'auth-error' });
    expect(f.device.lastError).toBe(EdgentLastError.network);
    expect(f.device.state).toBe('wait-config');
    // No new activation, no reset: only the passphrase again.
    f.device.setWifiConfig(HOME.ssid, HOME.passphrase);
    f.device.applyWifiConfig();
    await f.advance(300);
    expect(f.device.state).toBe('running');
    expect(f.device.lastError).toBe(EdgentLastError.none);
    expect(f.states).toContain('error');
  });

  it('reports a network that is not there at once (701, network-not-found)', async () => {
    const f = await fixture();
    f.provision({ ssid: 'elsewhere', passphrase: 'whatever1' });
    await f.advance(300);
    expect(f.device.wifiStatus).toEqual({ state: 'failed', reason: 'network-not-found' });
    expect(f.device.lastError).toBe(EdgentLastError.network);
    expect(f.device.state).toBe('wait-config');
  });

  it('retries a weak signal until the 50 s Wi-Fi timeout, then fails', async () => {
    const f = await fixture({ aps: [{ ...HOME, rssi: -95 }] });
    f.provision();
    await f.advance(49_000);
    expect(f.device.state).toBe('connecting-net');
    expect(f.device.wifiStatus.state).toBe('connecting');
    await f.advance(1_500);
    expect(f.device.wifiStatus).toEqual({ state: 'failed', reason: 'network-not-found' });
    expect(f.device.lastError).toBe(EdgentLastError.network);
    expect(f.device.state).toBe('wait-config');
  });

  it('retries a link that drops during association and joins once it holds', async () => {
    const f = await fixture({ aps: [{ ...HOME, dropRate: 1 }] });
    f.provision();
    await f.advance(20_000);
    expect(f.device.state).toBe('connecting-net');
    f.air.add({ ...HOME, dropRate: 0 });
    await f.advance(1_000);
    expect(f.device.state).toBe('running');
  });
});

describe('simulated device: cloud failures before the configuration is valid', () => {
  it('goes back to provisioning with last_error 702 when the cloud never answers in 50 s', async () => {
    const f = await fixture();
    f.cloud.mode = 'silent';
    f.provision();
    await f.advance(300 + 49_000);
    expect(f.device.state).toBe('connecting-cloud');
    await f.advance(1_000);
    expect(f.device.state).toBe('wait-config');
    expect(f.device.lastError).toBe(EdgentLastError.cloud);
    expect(f.device.configValid).toBe(false);
  });

  it('retries a refused TCP connection inside the 50 s, then reports 702', async () => {
    const f = await fixture();
    f.cloud.mode = 'unreachable';
    f.provision();
    await f.advance(300 + 51_000);
    expect(f.device.lastError).toBe(EdgentLastError.cloud);
    expect(f.device.state).toBe('wait-config');
    const first = f.cloud.attempts[0]!.at;
    expect(f.cloud.attempts.length).toBeGreaterThan(3);
    expect(f.cloud.attempts.at(-1)!.at - first).toBeLessThanOrEqual(50_000);
  });

  it('times out on a network with no route to the broker (702)', async () => {
    const f = await fixture({ aps: [{ ...HOME, internet: false }] });
    f.provision();
    await f.advance(300 + 50_000);
    expect(f.device.lastError).toBe(EdgentLastError.cloud);
    expect(f.cloud.attempts).toHaveLength(0);
  });

  it('reports a refused token as 703 and waits for a new one', async () => {
    const f = await fixture();
    f.cloud.mode = 'refuse';
    f.provision();
    await f.advance(300);
    expect(f.device.lastError).toBe(EdgentLastError.token);
    expect(f.device.state).toBe('wait-config');
    f.cloud.mode = 'accept';
    f.provision();
    await f.advance(300);
    expect(f.device.state).toBe('running');
  });
});

describe('simulated device: flash', () => {
  it('resumes from its flash file after a restart, without provisioning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tether-flash-'));
    dirs.push(dir);
    const file = join(dir, 'PROV_TEST.json');
    const f = await fixture({ flash: new FileFlash(file) });
    await running(f);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      configValid: true,
      wifi: { ssid: 'home' },
    });
    const again = await f.restart();
    expect(again.state).toBe('connecting-net');
    await f.advance(300);
    await f.until(() => again.state === 'running');
    expect(again.bootCount).toBe(2);
    expect(f.cloud.attempts).toHaveLength(2);
    // The MQTT client id is random per connection: nothing another device could guess from the
    // MAC (the gateway keys sessions on the token, but a broker elsewhere may not).
    const [one, two] = f.cloud.attempts.map((a) => a.clientId);
    expect(one).not.toBe(two);
    const mac = f.device.factory.hardwareId.replaceAll(':', '').toLowerCase();
    for (const id of [one, two]) expect(id).not.toContain(mac.slice(-6));
    expect(one).toMatch(/^sim-[0-9a-f]{16}$/);
  });
});

describe('simulated device: running', () => {
  it('publishes telemetry on its datastreams on schedule, the same values for the same seed', async () => {
    const run = async () => {
      const f = await fixture({ timings: { telemetryIntervalMs: 10_000 }, seed: 99 });
      await running(f);
      await f.advance(30_000);
      return f.cloud.published.filter((p) => p.topic.startsWith('ds/'));
    };
    const first = await run();
    expect(first.map((p) => p.topic)).toEqual([
      'ds/temp',
      'ds/mode',
      'ds/temp',
      'ds/mode',
      'ds/temp',
      'ds/mode',
    ]);
    expect(Number(first[0]!.payload)).toBeGreaterThanOrEqual(-40);
    expect(await run()).toEqual(first);
  });

  it('stores and echoes downlink/ds, and survives a reboot with the value', async () => {
    const f = await fixture();
    await running(f);
    f.cloud.send('downlink/ds/mode', 'boost');
    await f.advance(0);
    expect(f.cloud.published.at(-1)).toMatchObject({ topic: 'ds/mode', payload: 'boost' });
    expect(f.device.values.mode).toBe('boost');
    expect((await f.flash.read()).values).toEqual({ mode: 'boost' });
  });

  it('answers downlink/ping without changing state', async () => {
    const f = await fixture();
    await running(f);
    const seen: string[] = [];
    f.device.on('downlink', ({ topic }) => seen.push(topic));
    f.cloud.send('downlink/ping');
    await f.advance(0);
    expect(seen).toEqual(['downlink/ping']);
    expect(f.device.state).toBe('running');
  });

  it('reboots on downlink/reboot and reconnects from flash, sending info/mcu again', async () => {
    const f = await fixture();
    await running(f);
    f.cloud.send('downlink/reboot');
    await f.advance(1_000);
    expect(f.device.state).toBe('running');
    expect(f.device.stats.restarts).toBe(1);
    expect(f.device.bootCount).toBe(2);
    expect(f.cloud.topics().filter((t) => t === 'info/mcu')).toHaveLength(2);
    expect(f.states).toContain('off');
  });

  it('re-enters provisioning on downlink/reconfigure without a reset button, and can be provisioned again', async () => {
    const f = await fixture();
    await running(f);
    f.cloud.send('downlink/reconfigure');
    await f.advance(0);
    expect(f.device.state).toBe('wait-config');
    expect(f.device.configValid).toBe(false);
    expect(f.cloud.online).toBe(false);
    await running(f);
  });

  it('follows downlink/redirect to another broker and keeps it across restarts; ignores a bad URL', async () => {
    const f = await fixture();
    await running(f);
    // Forms Blynk's samples could not follow (Python urlparse needs a scheme and a port; the
    // MicroPython sample does int(port)) are ignored.
    for (const bad of [
      'not a url',
      'eu.broker.test:1883',
      'mqtt://eu.broker.test',
      'http://eu.broker.test:80',
    ]) {
      f.cloud.send('downlink/redirect', bad);
      await f.advance(0);
      expect(f.device.brokerUrl, bad).toBe(BROKER);
    }
    f.cloud.send('downlink/redirect', 'mqtt://eu.broker.test:1883');
    await f.advance(0);
    expect(f.device.state).toBe('running');
    expect(f.cloud.attempts.at(-1)!.brokerUrl).toBe('mqtt://eu.broker.test:1883');
    await f.restart();
    await f.advance(300);
    expect(f.cloud.attempts.at(-1)!.brokerUrl).toBe('mqtt://eu.broker.test:1883');
  });

  it('reconnects with exponential backoff and jitter after the cloud drops', async () => {
    const f = await fixture({ timings: { backoffBaseMs: 1_000, backoffMaxMs: 16_000 } });
    await running(f);
    f.cloud.mode = 'unreachable';
    const before = f.cloud.attempts.length;
    f.cloud.drop();
    expect(f.device.state).toBe('connecting-cloud');
    await f.advance(120_000);
    const times = f.cloud.attempts.slice(before).map((a) => a.at);
    const lost = f.clock.now() - 120_000;
    const waits = times.map((t, i) => t - (i === 0 ? lost : times[i - 1]!));
    // Wait n is base·2^n, capped, times a jitter in [0.5, 1.5).
    waits.forEach((wait, n) => {
      const nominal = Math.min(16_000, 1_000 * 2 ** n);
      expect(wait).toBeGreaterThanOrEqual(nominal * 0.5);
      expect(wait).toBeLessThan(nominal * 1.5);
    });
    expect(waits.length).toBeGreaterThanOrEqual(6);
    expect(new Set(waits.slice(4).map((w) => Math.round(w / 100))).size).toBeGreaterThan(1); // jittered
    f.cloud.mode = 'accept';
    await f.advance(25_000);
    expect(f.device.state).toBe('running');
    expect(f.device.stats.reconnects).toBe(1);
    expect(f.device.stats.connects).toBe(1 + waits.length + 1);
    expect(f.device.configValid).toBe(true);
  });

  it('rejoins after a flaky Wi-Fi link drops', async () => {
    const f = await fixture();
    await running(f);
    await f.device.loseNetwork();
    expect(f.device.state).toBe('connecting-net');
    await f.advance(1_000);
    expect(f.device.state).toBe('running');
    expect(f.device.stats.networkDrops).toBe(1);
  });

  it('shows the error state and restarts when its network is gone for the whole Wi-Fi timeout', async () => {
    const f = await fixture();
    await running(f);
    f.air.remove('home');
    await f.device.loseNetwork();
    await f.advance(51_000);
    expect(f.device.state).toBe('error');
    expect(f.device.configValid).toBe(true); // a configured device keeps its configuration
    f.air.add(HOME);
    await f.advance(10_000 + 300);
    expect(f.device.state).toBe('running');
    expect(f.device.stats.restarts).toBe(1);
  });
});

describe('simulated device: reset button and wipes', () => {
  it('ignores a short press of the reset button', async () => {
    const f = await fixture();
    await running(f);
    f.device.pressResetButton();
    await f.advance(3_000);
    expect(await f.device.releaseResetButton()).toBe(false);
    expect(f.device.state).toBe('running');
    expect(f.device.configValid).toBe(true);
  });

  it('wipes after a 10 s hold: reset-config, flash erased, back to provisioning', async () => {
    const f = await fixture();
    await running(f);
    f.device.pressResetButton();
    await f.advance(10_000);
    expect(await f.device.releaseResetButton()).toBe(true);
    expect(f.states.slice(-2)).toEqual(['reset-config', 'wait-config']);
    expect(await f.flash.read()).toEqual({});
    expect(f.cloud.online).toBe(false);
  });

  it('wipes itself when the gateway says it was deleted (downlink/wipe)', async () => {
    const f = await fixture();
    await running(f);
    const wiped: string[] = [];
    f.device.on('wiped', ({ reason }) => wiped.push(reason));
    f.cloud.send('downlink/wipe', '{"reason":"deleted"}');
    await f.advance(0);
    expect(wiped).toHaveLength(1);
    expect(f.device.state).toBe('wait-config');
    expect(await f.flash.read()).toEqual({});
  });

  it('keeps its configuration on any diag: a diag is advice (only downlink/wipe erases)', async () => {
    const f = await fixture();
    await running(f);
    for (const payload of [
      diagPayload('RATE_LIMITED', 'slow down'),
      diagPayload('TOKEN_REVOKED', 'no such diag is sent, and none wipes'),
      'not json',
    ]) {
      f.cloud.send('downlink/diag', payload);
      await f.advance(0);
      expect(f.device.state).toBe('running');
      expect(f.device.configValid).toBe(true);
    }
  });

  it('goes back to provisioning (703) keeping its Wi-Fi when a running token is refused on reconnect', async () => {
    const f = await fixture();
    await running(f);
    f.cloud.mode = 'refuse';
    f.cloud.drop();
    await f.advance(3_000);
    expect(f.device.state).toBe('wait-config');
    expect(f.device.lastError).toBe(EdgentLastError.token);
    const stored = await f.flash.read();
    expect(stored.configValid).toBe(false);
    expect(stored.wifi?.ssid).toBe('home');
  });
});

describe('factory data', () => {
  it('is repeatable for a seed and gives the QR payload Espressif apps read', () => {
    const a = makeFactoryData({ templateId: TEMPLATE, hotspotPrefix: 'THERMO', random: seededRandom(1) });
    const b = makeFactoryData({ templateId: TEMPLATE, hotspotPrefix: 'THERMO', random: seededRandom(1) });
    expect(a).toEqual(b);
    expect(a.hardwareId).toMatch(/^24:6F:28(:[0-9A-F]{2}){3}$/);
    expect(a.name).toBe(`THERMO_${a.hardwareId.slice(9).replaceAll(':', '')}`);
    expect(qrPayload(a, 'ble')).toEqual({
      ver: 'v1',
      name: a.name,
      pop: a.pop,
      transport: 'ble',
      security: 2,
    });
  });
});
