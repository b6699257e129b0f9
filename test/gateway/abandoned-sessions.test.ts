/** Pending devices of sessions that expired long ago are removed, so they stop counting. */
import { expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import { createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway } from '../support/gateway-harness.js';

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
    await clock.advance(600_000 + 30 * 60_000); // expired half an hour ago
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
