/**
 * protocomm endpoint names (esp-idf wifi_provisioning manager), Tether's activation endpoint, and
 * `custom-data`, the name esp_prov's --custom_data posts to (activation data from stock tools).
 */
export const Endpoint = {
  version: 'proto-ver',
  session: 'prov-session',
  config: 'prov-config',
  scan: 'prov-scan',
  ctrl: 'prov-ctrl',
  activation: 'tether-activation',
  customData: 'custom-data',
} as const;

export type EndpointName = (typeof Endpoint)[keyof typeof Endpoint];
