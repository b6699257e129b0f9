/** Pending devices of sessions that expired long ago are removed, so they stop counting. */
import { expect, it } from 'vitest';
import { ABANDONED_GRACE_MS, SWEEP_EVERY_MS } from '../../gateway/devices/provisioning-service.js';
import { ManualClock } from '../../shared/clock.js';
import { createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway } from '../support/gateway-harness.js';

const SESSION_TTL_MS = 600_000;

it('purges a pending device an hour after its session expired, not before', async () => {
  const clock = new ManualClock(Date.now());
  const gw = await startTestGateway({}, { clock });
  try {
    let admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const first = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    const { devices } = gw.gateway.services.store;
    await clock.advance(SESSION_TTL_MS + 30 * 60_000); // expired half an hour ago
    admin = await gw.login();
    await gw.api('POST', '/api/provisioning/sessions', { templateId }, admin);
    expect(await devices.get(first.body.deviceId)).toBeDefined();
    const outcome = await gw.api<{ state: string }>(
      'GET',
      `/api/provisioning/sessions/${first.body.deviceId}`,
      undefined,
      admin,
    );
    expect(outcome.body.state).toBe('expired');
    await clock.advance(31 * 60_000);
    admin = await gw.login();
    await gw.api('POST', '/api/provisioning/sessions', { templateId }, admin);
    expect(await devices.get(first.body.deviceId)).toBeUndefined();
    expect(await devices.count({ status: 'pending' })).toBe(2);
  } finally {
    await gw.stop();
  }
});

it('sweeps abandoned pending devices on a timer, in a quiet org where nobody opens a session', async () => {
  const clock = new ManualClock(Date.now());
  const gw = await startTestGateway({}, { clock });
  let stopped = false;
  try {
    const admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    expect(session.status).toBe(201);
    const { devices } = gw.gateway.services.store;
    // Within the grace the companion may still learn "expired": the device stays.
    await clock.advance(SESSION_TTL_MS + ABANDONED_GRACE_MS - SWEEP_EVERY_MS);
    expect(await devices.get(session.body.deviceId)).toBeDefined();
    // No request at all, only time: the sweep removes it.
    await clock.advance(2 * SWEEP_EVERY_MS);
    expect(await devices.get(session.body.deviceId)).toBeUndefined();
    await gw.stop();
    stopped = true;
    // The sweep's timer went with the gateway (as every other part's did).
    expect(clock.pendingTimers).toBe(0);
  } finally {
    if (!stopped) await gw.stop();
  }
});

it('an expired pending device holds no place under the plan, even within the grace', async () => {
  const clock = new ManualClock(Date.now());
  const gw = await startTestGateway(
    { admin: { plan: 'pro' }, plans: { pro: { devices: 1 } } as never },
    { clock },
  );
  try {
    let admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const open = () =>
      gw.api<{ error?: { code: string } }>('POST', '/api/provisioning/sessions', { templateId }, admin);
    expect((await open()).status).toBe(201);
    // The one place is taken by a live session.
    expect((await open()).body.error?.code).toBe('PLAN_LIMIT');
    await clock.advance(SESSION_TTL_MS + 1_000);
    admin = await gw.login();
    expect((await open()).status).toBe(201);
  } finally {
    await gw.stop();
  }
});
