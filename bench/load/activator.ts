/**
 * Scenario 4's load: simulated devices activated end to end through the companion's real flow
 * (`activateDevice`): a provisioning session on the gateway, protocomm over SoftAP HTTP on
 * loopback with security 2 (SRP6a 3072 + AES-256-GCM), activation data, Wi-Fi, then the device's
 * own MQTT connect and `info/mcu`, and the gateway's push to the waiting companion (SSE).
 * Both the device and the companion side run here; the gateway runs in its own process. The
 * companion's push stream runs in the push reader (push-reader.ts) when the run names one: there
 * the push is timed on an event loop that runs no SRP, as a phone's would be.
 * A device is powered on just before its turn and off after, as boxes on a bench.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DeviceHost } from '../../firmware-sim/device-host.js';
import { makeFactoryData } from '../../firmware-sim/factory-data.js';
import { MemoryFlash } from '../../firmware-sim/flash.js';
import { SimulatedAir } from '../../firmware-sim/radio.js';
import { SimulatedDevice } from '../../firmware-sim/simulated-device.js';
import { type ActivationGateway, activateDevice } from '../../provisioning/companion/activation-flow.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import { SystemClock } from '../../shared/clock.js';
import { ERROR_TABLE, TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { silentLogger } from '../../shared/logger.js';
import { hasOwnKey } from '../../shared/own-keys.js';
import type { ProvisioningOutcome } from '../../shared/provisioning-session.js';
import { pool } from '../lib/mqtt-conn.js';
import { now, serveIpc } from '../lib/proc.js';

const WIFI = { ssid: 'bench-lab', passphrase: 'bench-lab-passphrase', rssi: -50 };

let client: GatewayClient | undefined;

/**
 * This process's own event-loop delay during a run: it runs 32 companions and 32 devices, SRP
 * handshakes included, so a push that has reached its socket may wait here before it is read.
 */
const ELD_RESOLUTION_MS = 5;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });

serveIpc({
  /** Before the clock starts: a login costs a production scrypt on the gateway. */
  login: async (args) => {
    client = new GatewayClient({ baseUrl: String(args.baseUrl) });
    await client.login(String(args.email), String(args.password));
    return true;
  },
  run: async (args) => {
    const templateId = String(args.templateId);
    if (!client) throw new Error('login first');
    const companion = client;
    const pushReader = args.pushReader ? String(args.pushReader) : undefined;
    const clock = new SystemClock();
    const latencies: number[] = [];
    /**
     * From the device's info/mcu to the companion's push (SSE) saying it is activated: read by the
     * push reader when there is one, else here (behind this process's SRP handshakes).
     */
    const pushLatencies: number[] = [];
    /** With a push reader: from the device's info/mcu to the moment this process read the outcome. */
    const relayedPushLatencies: number[] = [];
    const failures: string[] = [];
    const transport = new SoftApHttpTransport();
    eld.reset();
    eld.enable();
    const startedAt = now();
    await pool(
      Array.from({ length: Number(args.count) }, (_, i) => i),
      Number(args.concurrency),
      async () => {
        const factory = makeFactoryData({ templateId });
        const device = new SimulatedDevice({
          factory,
          datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
          flash: new MemoryFlash(),
          air: new SimulatedAir([WIFI]),
          clock,
          logger: silentLogger(),
          // A simulated radio's join still takes 20 ms; no telemetry, so the gateway sees
          // only the activation path.
          timings: { joinDelayMs: 20, telemetryIntervalMs: 0, backoffBaseMs: 100 },
        });
        const host = new DeviceHost({
          device,
          security: { version: 2, credential: await makeSrpVerifier(factory.pop) },
          clock,
          logger: silentLogger(),
          softAp: { host: '127.0.0.1', port: 0 },
          ble: false,
          provisioningGraceMs: 5_000,
        });
        await host.start();
        let infoMcuAt = 0;
        device.on('published', ({ topic }: { topic: string }) => {
          if (topic === 'info/mcu' && infoMcuAt === 0) infoMcuAt = now();
        });
        // The push is timed where it lands: when the companion's stream yields the outcome (it
        // is open from the session's start), not when the flow's last step ends after Wi-Fi.
        let outcomeAt = 0;
        let relayedAt = 0;
        const gateway: ActivationGateway = {
          createProvisioningSession: (id, name) => companion.createProvisioningSession(id, name),
          cancelProvisioningSession: (id) => companion.cancelProvisioningSession(id),
          waitForActivation: async (id, options) => {
            if (pushReader) {
              const { outcome, at } = await watchThrough(pushReader, id, options?.signal);
              outcomeAt ||= at;
              relayedAt ||= now();
              return outcome;
            }
            const outcome = await companion.waitForActivation(id, options);
            outcomeAt ||= now();
            return outcome;
          },
        };
        const t0 = now();
        try {
          await activateDevice(transport, gateway, {
            templateId,
            address: host.softApAddress!,
            pop: factory.pop,
            wifi: { ssid: WIFI.ssid, passphrase: WIFI.passphrase },
            minSecurity: 2,
            wifiPollMs: 50,
          });
          latencies.push(now() - t0);
          if (infoMcuAt > 0 && outcomeAt > 0) pushLatencies.push(outcomeAt - infoMcuAt);
          if (infoMcuAt > 0 && relayedAt > 0) relayedPushLatencies.push(relayedAt - infoMcuAt);
        } catch (error) {
          failures.push((error as Error).message);
        } finally {
          await host.stop();
        }
      },
    );
    eld.disable();
    return {
      // The histogram holds whole intervals between its timer's runs: the delay is what is beyond.
      loopDelayP99: Math.max(0, eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS),
      latencies,
      pushLatencies,
      relayedPushLatencies,
      failed: failures.length,
      failures: failures.slice(0, 5),
      startedAt,
      endedAt: now(),
    };
  },
});
/** The session's outcome as the push reader read it from the gateway's stream, and when. */
async function watchThrough(
  reader: string,
  deviceId: string,
  signal: AbortSignal | undefined,
): Promise<{ outcome: ProvisioningOutcome; at: number }> {
  const res = await fetch(`${reader}/watch/${encodeURIComponent(deviceId)}`, signal ? { signal } : {});
  const body = (await res.json()) as {
    outcome: ProvisioningOutcome;
    at: number;
    code?: string;
    message?: string;
  };
  if (res.ok) return body;
  // The reader's failure keeps the gateway's code, so the flow handles it as its own stream's.
  const code =
    body.code && hasOwnKey(ERROR_TABLE, body.code)
      ? (body.code as keyof typeof ERROR_TABLE)
      : 'GATEWAY_UNREACHABLE';
  throw new TetherError(code, body.message ?? `push reader answered ${res.status}`);
}

process.send?.({ ready: true });
