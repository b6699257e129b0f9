import { describe, expect, it } from 'vitest';
import {
  deviceTopicOf,
  internalTopic,
  isAllowedDeviceSubscription,
  isName,
  parseUplink,
  topicMatches,
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
    ['get/loc/all', { kind: 'get-loc' }],
    // Blynk's sample blueprint names its datastreams with spaces.
    ['ds/Set Temperature', { kind: 'ds', name: 'Set Temperature' }],
    [
      'ds/Set Temperature/prop/isDisabled',
      { kind: 'ds-prop', name: 'Set Temperature', property: 'isDisabled' },
    ],
    ['ds/Status/prop/color/erase', { kind: 'ds-prop-erase', name: 'Status', property: 'color' }],
    ['ds/Temperature/timestamped_batch', { kind: 'ds-timestamped-batch', name: 'Temperature' }],
    ['ds/Current Temperature/erase', { kind: 'ds-erase', name: 'Current Temperature' }],
    ['ds/Температура', { kind: 'ds', name: 'Температура' }],
    ['meta/Serial Number', { kind: 'meta', field: 'Serial Number' }],
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
    'ds/temp/prop/color/x',
    'ds/ temp',
    'ds/temp ',
    'ds/a,b',
    'ds/..',
    'ds/a\u0000b',
    'ds/a\u202eb',
    `ds/${'x'.repeat(65)}`,
    'get/loc',
    'get/ds/all/x',
  ])('refuses %s (deny by default)', (topic) => {
    expect(parseUplink(topic)).toBeNull();
  });

  it('takes names as Blynk does: spaces inside, no separators, wildcards, commas or invisible characters', () => {
    for (const name of ['Set Temperature', 'temp', 'Device Name', 'Температура', 'a.b:c-d_e', 'x'.repeat(64)])
      expect(isName(name), name).toBe(true);
    for (const name of [
      '',
      ' a',
      'a ',
      '.',
      '..',
      'a/b',
      'a+b',
      'a#',
      'a,b',
      'a\tb',
      'a\u0000b',
      'a\u200bb',
      'x'.repeat(65),
    ])
      expect(isName(name), JSON.stringify(name)).toBe(false);
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

  it.each([
    ['downlink/#', 'downlink/ds/temp', true],
    ['downlink/#', 'downlink', true],
    ['downlink/ds/+', 'downlink/ds/temp', true],
    ['downlink/ds/+', 'downlink/ds/temp/prop/color', false],
    ['downlink/ds/+', 'downlink/ds', false],
    ['downlink/+/temp', 'downlink/ds/temp', true],
    ['downlink/ds/temp', 'downlink/ds/temp', true],
    ['downlink/ds/temp', 'downlink/ds/tem', false],
    ['downlink/ds/temp', 'downlink/ds/temp/x', false],
    ['downlink/ds/+', 'downlink/ds/', true],
    ['d/dev_a/downlink/#', 'd/dev_b/downlink/ds/temp', false],
  ])('matches filter %s against %s: %s (MQTT 3.1.1 §4.7)', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
