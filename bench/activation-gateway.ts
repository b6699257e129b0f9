/**
 * The gateway's own cost of an activation, without the security handshake: a companion and a
 * device that do only what reaches the gateway (the provisioning session, the push stream, the
 * device's CONNECT, SUBSCRIBE and info/mcu, its disconnect). Scenario 4 runs the whole flow with
 * SRP in two loader processes that keep both cores busy; this one leaves the gateway the machine,
 * so that its CPU per activation can be compared between builds in a few minutes.
 *
 *   node bench/out/activation-gateway.js [activations per round = 600] [in flight = 64] [rounds = 3] [--profile DIR]
 *
 * Each round prints the gateway's CPU per activation (user + system, all its threads, from /proc)
 * and the push latency (info/mcu sent → outcome read by the companion). Rounds follow a warm-up of
 * 50; later rounds run on a warmer process (V8 has compiled more), so compare round by round.
 * With `--profile DIR` the gateway runs under `--cpu-prof` and DIR/window.json holds the last
 * round's start and end on the profile's clock (for bench/lib/cpu-profile.ts's window).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { GatewayClient } from '../shared/gateway-client.js';
import { ADMIN, startTether } from './lib/brokers.js';
import { pool } from './lib/mqtt-conn.js';
import { now } from './lib/proc.js';
import { latency } from './lib/stats.js';
import { prepareTetherData, scratchDir } from './scenarios/context.js';

const args = process.argv.slice(2);
const profileAt = args.indexOf('--profile');
const profileDir = profileAt >= 0 ? resolve(args.splice(profileAt, 2)[1] ?? 'profiles') : undefined;
const [count = 600, inFlight = 64, rounds = 3] = args.map(Number);
const dataDir = join(scratchDir('activation-gateway'), 'tether');
const { templateId } = await prepareTetherData(dataDir, 0);
const gateway = await startTether(
  dataDir,
  {},
  profileDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {},
);
const companion = new GatewayClient({ baseUrl: `http://127.0.0.1:${gateway.httpPort}` });
await companion.login(ADMIN.email, ADMIN.password);

async function activate(push: number[]): Promise<void> {
  const session = await companion.createProvisioningSession(templateId);
  // As the companion's flow: the push stream is open before the device can reach the gateway.
  let outcomeAt = 0;
  const outcome = companion.waitForActivation(session.deviceId).then((o) => {
    outcomeAt = now();
    return o;
  });
  const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, {
    username: 'device',
    password: session.token,
    clientId: `bench-${session.deviceId}`,
    reconnectPeriod: 0,
  });
  await device.subscribeAsync('downlink/#');
  const sentAt = now();
  device.publish(
    'info/mcu',
    JSON.stringify({
      tmpl: templateId,
      ver: '1.0.0',
      build: 'bench',
      type: 'bench',
      rxbuff: 1024,
      provsec: 2,
    }),
  );
  const result = await outcome;
  if (result.state !== 'active') throw new Error(`activation ended ${result.state}`);
  push.push(outcomeAt - sentAt);
  await device.endAsync();
}

await pool(Array.from({ length: 50 }), 16, () => activate([]));
for (let round = 1; round <= rounds; round++) {
  const push: number[] = [];
  const cpu0 = gateway.cpu();
  const t0 = now();
  const mark0 = profileDir ? await gateway.worker!.call<number>('hrtime') : 0;
  await pool(Array.from({ length: count }), inFlight, () => activate(push));
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(
      join(profileDir, 'window.json'),
      JSON.stringify([mark0, await gateway.worker!.call<number>('hrtime')]),
    );
  }
  const cpuMs = ((gateway.cpu() - cpu0) / count) * 1000;
  const rate = count / ((now() - t0) / 1000);
  const p = latency(push);
  console.log(
    `round ${round}: gateway CPU ${cpuMs.toFixed(2)} ms per activation, ${rate.toFixed(0)} activations/s, push p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms`,
  );
}
await gateway.stop();
process.exit(0);
