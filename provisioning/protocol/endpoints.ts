/** protocomm endpoint names (esp-idf wifi_provisioning manager), plus Tether's activation endpoint. */
export const Endpoint = {
  version: 'proto-ver',
  session: 'prov-session',
  config: 'prov-config',
  scan: 'prov-scan',
  ctrl: 'prov-ctrl',
  activation: 'tether-activation',
} as const;

export type EndpointName = (typeof Endpoint)[keyof typeof Endpoint];
