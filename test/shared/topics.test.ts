import { describe, expect, it } from 'vitest';
import {
  deviceTopicOf,
  internalTopic,
  isAllowedDeviceSubscription,
  parseUplink,
} from '../../shared/topics.js';

describe('Blynk device topic map', () => {
  it.each([
    ['info/mcu', { kind: 'info-mcu' }],
    ['ds/temp', { kind: 'ds', name: 'temp' }],
    ['ds/temp/prop/color', { kind: 'ds-prop', name: 'temp', property: 'color' }],
    ['batch_ds', { kind: 'batch-ds' }],
    ['event/overheat', { kind: 'event', code: 'overheat' }],
    ['meta/serial', { kind: 'meta', field: 'serial' }],
    ['get/ds', { kind: 'get-ds' }],
    ['get/ds/all', { kind: 'get-ds-all' }],
    ['get/utc/all/json', { kind: 'get-utc' }],
  ])('parses %s', (topic, expected) => {
    expect(parseUplink(topic)).toMatchObject(expected);
  });

  it.each([
    'downlink/ds/temp',
    'ds',
    'ds/',
    'ds/a/b',
    'd/dev_1/ds/temp',
    '$SYS/x',
    'ds/+',
    'ds/#',
    'event/a b',
    'ds/temp/prop',
  ])('refuses %s (deny by default)', (topic) => {
    expect(parseUplink(topic)).toBeNull();
  });

  it('allows subscriptions only at or below downlink/', () => {
    expect(isAllowedDeviceSubscription('downlink/#')).toBe(true);
    expect(isAllowedDeviceSubscription('downlink/ds/+')).toBe(true);
    expect(isAllowedDeviceSubscription('#')).toBe(false);
    expect(isAllowedDeviceSubscription('+/downlink/#')).toBe(false);
    expect(isAllowedDeviceSubscription('d/dev_1/downlink/#')).toBe(false);
    expect(isAllowedDeviceSubscription('downlink/#/x')).toBe(false);
  });

  it('maps a device topic into its own namespace and back, and no other', () => {
    const internal = internalTopic('dev_a', 'downlink/ds/temp');
    expect(internal).toBe('d/dev_a/downlink/ds/temp');
    expect(deviceTopicOf('dev_a', internal)).toBe('downlink/ds/temp');
    expect(deviceTopicOf('dev_b', internal)).toBeNull();
    expect(deviceTopicOf('dev_a', 'd/dev_ab/downlink/x')).toBeNull();
  });
});
