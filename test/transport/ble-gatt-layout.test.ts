import { describe, expect, it } from 'vitest';
import {
  characteristicUuid,
  compactUuid,
  endpointCharacteristics,
  mapEndpointsByUserDescription,
  normalizeUuid,
} from '../../provisioning/transport/ble-gatt-layout.js';

const SERVICE = '021a9004-0382-4aea-bff4-6b3f1c5adfb4';

describe('esp-idf GATT layout', () => {
  it('derives characteristic UUIDs by replacing bytes 12–13 of the little-endian uuid128', () => {
    // The UUIDs esp_prov and the Espressif apps see on an example device.
    expect(characteristicUuid(SERVICE, 0xff50)).toBe('021aff50-0382-4aea-bff4-6b3f1c5adfb4');
    expect(characteristicUuid(SERVICE, 0xff51)).toBe('021aff51-0382-4aea-bff4-6b3f1c5adfb4');
    expect(characteristicUuid(SERVICE, 0x0001)).toBe('021a0001-0382-4aea-bff4-6b3f1c5adfb4');
    expect(() => characteristicUuid(SERVICE, 0x10000)).toThrow(/16-bit/);
    expect(() => characteristicUuid('ffff', 1)).toThrow(/128-bit/);
  });

  it('gives the standard endpoints their wifi_prov_mgr ids and the rest the next free ones', () => {
    const chars = endpointCharacteristics(SERVICE, ['proto-ver', 'prov-session', 'prov-ctrl', 'custom-data']);
    expect(chars).toEqual([
      { uuid: '021aff53-0382-4aea-bff4-6b3f1c5adfb4', userDescription: 'proto-ver' },
      { uuid: '021aff51-0382-4aea-bff4-6b3f1c5adfb4', userDescription: 'prov-session' },
      { uuid: '021aff54-0382-4aea-bff4-6b3f1c5adfb4', userDescription: 'prov-ctrl' },
      { uuid: '021aff55-0382-4aea-bff4-6b3f1c5adfb4', userDescription: 'custom-data' },
    ]);
    expect(() => endpointCharacteristics(SERVICE, ['a', 'a'])).toThrow(/unique/);
  });

  it('maps endpoints by user description, skipping unnamed characteristics', () => {
    const map = mapEndpointsByUserDescription([
      { uuid: '021AFF5103824AEABFF46B3F1C5ADFB4', userDescription: 'prov-session' },
      { uuid: '2a00' },
      { uuid: '021aff53-0382-4aea-bff4-6b3f1c5adfb4', userDescription: 'proto-ver\0' },
    ]);
    expect([...map]).toEqual([
      ['prov-session', '021aff51-0382-4aea-bff4-6b3f1c5adfb4'],
      ['proto-ver', '021aff53-0382-4aea-bff4-6b3f1c5adfb4'],
    ]);
  });

  it('refuses a service that names two characteristics alike', () => {
    expect(() =>
      mapEndpointsByUserDescription([
        { uuid: characteristicUuid(SERVICE, 1), userDescription: 'prov-config' },
        { uuid: characteristicUuid(SERVICE, 2), userDescription: 'prov-config' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });

  it('normalizes UUID spellings', () => {
    expect(normalizeUuid('021A900403824AEABFF46B3F1C5ADFB4')).toBe(SERVICE);
    expect(compactUuid(SERVICE)).toBe('021a900403824aeabff46b3f1c5adfb4');
    expect(normalizeUuid('2901')).toBe('2901');
    expect(() => normalizeUuid('not-a-uuid')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
