/**
 * Adding a device: claim a static-token device by the code on its label (typed, or read from the
 * QR with the camera where the browser has a barcode detector), or set one up over Bluetooth.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { lazy, useLocation } from 'preact-iso';
import { api } from '../api.js';
import type { Device } from '../api-types.js';
import { can } from '../session.js';
import { Button, ErrorNotice, Field, Form, Notice, Page } from '../ui/components.js';
import { useAction } from '../ui/hooks.js';
import { PlanUsageNote } from '../ui/plan-usage.js';

// The provisioning protocol (codecs, security sessions, Web Bluetooth) loads only on this page.
const BluetoothSetup = lazy(() => import('./bluetooth-setup.js').then((m) => m.BluetoothSetup));

export function AddDevicePage() {
  return (
    <Page title="Add a device">
      {can('devices.provision') ? (
        <>
          <PlanUsageNote limit="devices" />
          <ClaimByCode />
          <BluetoothSetup />
        </>
      ) : (
        <Notice>
          Your role does not include adding devices. Ask an administrator of your organization to add it for
          you, or to give your role the devices.provision permission.
        </Notice>
      )}
    </Page>
  );
}

/** The BarcodeDetector API (Chromium on Android and ChromeOS, Safari): not in TypeScript's DOM types yet. */
interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
declare global {
  interface Window {
    BarcodeDetector?: new (options: { formats: string[] }) => BarcodeDetectorLike;
  }
}

function ClaimByCode() {
  const { route } = useLocation();
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [scanning, setScanning] = useState(false);
  const action = useAction(async () => {
    const device = await api.request<Device>('POST', '/api/claims', {
      claimCode: code.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
    });
    route(`/devices/${encodeURIComponent(device.id)}`);
  });
  const canScan = typeof window !== 'undefined' && 'BarcodeDetector' in window && !!navigator.mediaDevices;
  return (
    <section class="card" aria-labelledby="claim-title">
      <h2 id="claim-title">Claim by code</h2>
      <p>The claim code is printed on the device or its box, as text and as a QR code.</p>
      <Form label="Claim a device" onSubmit={() => void action.run()}>
        <Field
          label="Claim code"
          name="claim-code"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          required
          maxLength={64}
          hint="Like ABCD-EFGH-JKLM-NPQR-STUV; dashes and case do not matter."
          value={code}
          onValue={setCode}
        />
        <Field label="Name (optional)" maxLength={120} value={name} onValue={setName} />
        {canScan ? (
          <Button onClick={() => setScanning(!scanning)}>
            {scanning ? 'Stop camera' : 'Scan the QR code'}
          </Button>
        ) : null}
        {scanning ? (
          <QrScanner
            onCode={(text) => {
              setCode(text);
              setScanning(false);
            }}
          />
        ) : null}
        <ErrorNotice error={action.error} />
        <Button kind="primary" type="submit" busy={action.busy}>
          Claim device
        </Button>
      </Form>
    </section>
  );
}

function QrScanner(props: { onCode: (text: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState('');
  const found = useRef(props.onCode);
  found.current = props.onCode;
  useEffect(() => {
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const Detector = window.BarcodeDetector;
    if (!Detector) return;
    const detector = new Detector({ formats: ['qr_code'] });
    const tick = async () => {
      if (stopped || !video.current) return;
      try {
        const [first] = await detector.detect(video.current);
        if (first?.rawValue) return found.current(first.rawValue);
      } catch {
        // a frame that is not ready yet
      }
      timer = setTimeout(tick, 250);
    };
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(
      (media) => {
        stream = media;
        if (!video.current) return;
        video.current.srcObject = media;
        void video.current.play().then(tick);
      },
      () => setProblem('The camera is not available: type the code instead.'),
    );
    return () => {
      stopped = true;
      clearTimeout(timer);
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, []);
  return (
    <div class="scanner">
      {problem ? <Notice kind="warning">{problem}</Notice> : null}
      <video ref={video} muted playsInline aria-label="Camera view: point it at the QR code" />
    </div>
  );
}
