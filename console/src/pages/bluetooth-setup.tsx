/**
 * Setting a device up over Bluetooth from the browser: Web Bluetooth to the device's ESP-IDF
 * provisioning service (protocomm over GATT, security 2 or 1), running the very activation flow
 * `tether provision` runs — the same numbered steps, the same errors and hints, and a refused Wi-Fi
 * passphrase corrected in the same session, without a factory reset.
 */
import { pino } from 'pino';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  ACTIVATION_STEPS,
  type ActivationResult,
  type ActivationStep,
  activateDevice,
  STEP_LABELS,
} from '../../../provisioning/companion/activation-flow.js';
import type { WifiCredentials } from '../../../provisioning/protocol/messages/wifi-config-messages.js';
import { type WebBluetoothLike, WebBluetoothTransport } from '../../../provisioning/transport/ble-web.js';
import { isTetherError, TetherError } from '../../../shared/errors.js';
import { api } from '../api.js';
import type { Template } from '../api-types.js';
import { consoleGateway } from '../provisioning/console-gateway.js';
import { Button, Field, Form, Loading, Notice, Select } from '../ui/components.js';
import { useLoad } from '../ui/hooks.js';

type StepState = { state: 'pending' | 'running' | 'done' | 'failed'; detail?: string | undefined };

type Run =
  | { phase: 'idle' }
  | { phase: 'running'; device?: string }
  | { phase: 'done'; device?: string; result: ActivationResult }
  | { phase: 'failed'; device?: string; error: TetherError };

/** The Wi-Fi failure the person is asked to correct, and how the flow gets their answer. */
interface WifiRetry {
  error: TetherError;
  answer: (credentials: WifiCredentials | undefined) => void;
}

/** The protocol's logs go to the browser console, warnings and up; nothing secret is ever logged. */
const protocolLogger = pino({ level: 'warn' });

const bluetooth = (): WebBluetoothLike | undefined =>
  typeof navigator !== 'undefined' && 'bluetooth' in navigator && window.isSecureContext
    ? (navigator as unknown as { bluetooth: WebBluetoothLike }).bluetooth
    : undefined;

export function BluetoothSetup() {
  const radio = useMemo(bluetooth, []);
  return (
    <section class="card" aria-labelledby="ble-title">
      <h2 id="ble-title">Set up over Bluetooth</h2>
      {radio ? (
        <BluetoothSetupForm radio={radio} />
      ) : (
        <Notice kind="warning">
          This browser cannot reach Bluetooth devices (Web Bluetooth needs Chrome or Edge, and the console on
          localhost or HTTPS). Use <code>tether provision</code>, or claim the device by code.
        </Notice>
      )}
    </section>
  );
}

function BluetoothSetupForm(props: { radio: WebBluetoothLike }) {
  const templates = useLoad((signal) => api.get<{ templates: Template[] }>('/api/templates', signal), []);
  const [templateId, setTemplateId] = useState('');
  const [pop, setPop] = useState('');
  const [ssid, setSsid] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [name, setName] = useState('');
  const [run, setRun] = useState<Run>({ phase: 'idle' });
  const [steps, setSteps] = useState<Partial<Record<ActivationStep, StepState>>>({});
  const [retry, setRetry] = useState<WifiRetry | undefined>(undefined);

  const list = templates.data?.templates ?? [];
  useEffect(() => {
    if (!templateId && list[0]) setTemplateId(list[0].id);
  }, [list.length]);

  const mark = (step: ActivationStep, state: StepState['state'], detail?: string) =>
    setSteps((current) => ({ ...current, [step]: { state, detail } }));

  const start = async () => {
    const template = list.find((t) => t.id === templateId);
    if (!template) return;
    setSteps({});
    setRetry(undefined);
    const transport = new WebBluetoothTransport({ bluetooth: props.radio });
    let chosen: string | undefined;
    let current: ActivationStep | undefined;
    setRun({ phase: 'running' });
    try {
      // The chooser first, while the click still counts as the person's gesture.
      const device = await transport.choose(template.hotspotPrefix ?? 'PROV_');
      chosen = device.name;
      setRun({ phase: 'running', device: chosen });
      const result = await activateDevice(transport, consoleGateway(api), {
        templateId: template.id,
        address: device.address,
        pop: pop.trim(),
        wifi: { ssid, passphrase },
        ...(name.trim() ? { deviceName: name.trim() } : {}),
        protocomm: { logger: protocolLogger },
        onStep: (step, status, detail) => {
          current = step;
          // The browser's id for a Bluetooth device means nothing to a person: show its name.
          mark(step, status === 'start' ? 'running' : 'done', step === 'connect' ? chosen : detail);
        },
        // As the command line asks again: the device keeps its session while the person corrects it.
        onWifiFailed: (error) =>
          new Promise<WifiCredentials | undefined>((resolve) => {
            mark('wifi', 'failed', error.message);
            setRetry({
              error,
              answer: (credentials) => {
                setRetry(undefined);
                if (credentials) mark('wifi', 'running');
                resolve(credentials);
              },
            });
          }),
      });
      setRun({ phase: 'done', device: chosen, result });
    } catch (failure) {
      const error = asTetherError(failure);
      const step = (error.details?.step as ActivationStep | undefined) ?? current;
      if (step) mark(step, 'failed');
      setRun({ phase: 'failed', ...(chosen ? { device: chosen } : {}), error });
    }
  };

  if (templates.loading) return <Loading />;
  if (list.length === 0) {
    return <Notice>There is no product to set up yet: an administrator creates one under Products.</Notice>;
  }
  const busy = run.phase === 'running';
  return (
    <>
      <p>
        Put the device in provisioning mode and keep it close. The browser lists the devices it can reach; the
        code on the device label proves it is yours.
      </p>
      <Form label="Set up a device over Bluetooth" onSubmit={() => void start()}>
        <Select
          label="Product"
          value={templateId}
          onValue={setTemplateId}
          disabled={busy}
          options={list.map((t) => ({ value: t.id, label: `${t.name} (${t.id})` }))}
        />
        <Field
          label="Proof of possession"
          hint="The code on the device label or in its QR code."
          autocomplete="off"
          spellcheck={false}
          required
          maxLength={64}
          disabled={busy}
          value={pop}
          onValue={setPop}
        />
        <Field
          label="Wi-Fi network"
          autocomplete="off"
          required
          maxLength={32}
          disabled={busy}
          value={ssid}
          onValue={setSsid}
        />
        <Field
          label="Wi-Fi passphrase"
          type="password"
          autocomplete="off"
          maxLength={64}
          disabled={busy}
          value={passphrase}
          onValue={setPassphrase}
        />
        <Field
          label="Device name (optional)"
          maxLength={120}
          disabled={busy}
          value={name}
          onValue={setName}
        />
        <Button kind="primary" type="submit" busy={busy}>
          Connect and set up
        </Button>
      </Form>
      {run.phase !== 'idle' ? <Progress device={run.device} steps={steps} /> : null}
      {retry ? <WifiRetryForm retry={retry} ssid={ssid} /> : null}
      {run.phase === 'failed' ? <Failure error={run.error} /> : null}
      {run.phase === 'done' ? (
        <Notice kind="success">
          {run.device ?? 'The device'} is active and yours (security {run.result.security}).{' '}
          <a href={`/devices/${encodeURIComponent(run.result.deviceId)}`}>Open the device</a>
        </Notice>
      ) : null}
    </>
  );
}

/** The numbered steps, as `tether provision` prints them, kept up to date for screen readers too. */
function Progress(props: { device: string | undefined; steps: Partial<Record<ActivationStep, StepState>> }) {
  return (
    <section aria-labelledby="steps-title">
      <h3 id="steps-title">
        {props.device ? `Setting up ${props.device}` : 'Choose the device in the list'}
      </h3>
      <ol class="steps" aria-live="polite">
        {ACTIVATION_STEPS.map((step) => {
          const s = props.steps[step] ?? { state: 'pending' };
          return (
            <li key={step} class="step" data-step={step} data-state={s.state}>
              {STEP_LABELS[step]}
              {s.detail ? <span class="step-detail">{s.detail}</span> : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function WifiRetryForm(props: { retry: WifiRetry; ssid: string }) {
  const [ssid, setSsid] = useState(props.ssid);
  const [passphrase, setPassphrase] = useState('');
  return (
    <div class="notice notice-warning" role="alert">
      <p>
        <strong>{props.retry.error.message}</strong> The device is still waiting: nothing needs resetting.
      </p>
      <Form
        label="Correct the Wi-Fi settings"
        onSubmit={() => props.retry.answer({ ssid: ssid.trim(), passphrase })}
      >
        <Field label="Network name" required maxLength={32} value={ssid} onValue={setSsid} />
        <Field
          label="Passphrase"
          type="password"
          autocomplete="off"
          maxLength={64}
          value={passphrase}
          onValue={setPassphrase}
        />
        <div class="button-row">
          <Button kind="primary" type="submit">
            Try again
          </Button>
          <Button kind="quiet" onClick={() => props.retry.answer(undefined)}>
            Give up
          </Button>
        </div>
      </Form>
    </div>
  );
}

function Failure(props: { error: TetherError }) {
  const step = props.error.details?.step as ActivationStep | undefined;
  const hint = props.error.details?.hint;
  return (
    <div class="notice notice-error" role="alert">
      {step && STEP_LABELS[step] ? <p>Failed at: {STEP_LABELS[step]}</p> : null}
      <p>
        {props.error.message} <span class="code">({props.error.code})</span>
      </p>
      {typeof hint === 'string' ? <p>What to do: {hint}</p> : null}
    </div>
  );
}

function asTetherError(error: unknown): TetherError {
  if (isTetherError(error)) return error;
  // Anything else is a fault of ours, shown as such rather than swallowed.
  return new TetherError('INTERNAL', (error as Error)?.message ?? String(error), { cause: error });
}
