/** URLs of our own listeners, built one way: an IPv6 host goes in brackets (RFC 3986 section 3.2.2). */
import { MQTT_WS_PATH } from './config-listeners.js';

export type ListenerScheme = 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'http' | 'https';

export function listenerUrl(scheme: ListenerScheme, host: string, port: number): string {
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return scheme === 'ws' || scheme === 'wss' ? `${url}${MQTT_WS_PATH}` : url;
}

/** Where a component reaches the broker of an `mqtt` config section. */
export const brokerUrl = (mqtt: { host: string; port: number }) => listenerUrl('mqtt', mqtt.host, mqtt.port);

/** Every URL devices reach the broker at, by scheme (only the listeners that run). */
export interface BrokerUrls {
  mqtt: string;
  mqtts?: string;
  ws?: string;
  wss?: string;
}

/** The URLs of listeners on `host` at `ports` (a listener without a port is left out). */
export function brokerUrls(
  host: string,
  ports: { mqtt: number; mqtts?: number | undefined; ws?: number | undefined; wss?: number | undefined },
): BrokerUrls {
  const urls: BrokerUrls = { mqtt: listenerUrl('mqtt', host, ports.mqtt) };
  for (const scheme of ['mqtts', 'ws', 'wss'] as const) {
    const port = ports[scheme];
    if (port !== undefined) urls[scheme] = listenerUrl(scheme, host, port);
  }
  return urls;
}

/**
 * What device credentials list: with MQTT_PUBLIC_URL, that URL for mqtt and its host in the others
 * (the address devices reach the broker by, e.g. behind a load balancer); else the listeners' own.
 */
export function advertisedBrokerUrls(urls: BrokerUrls, publicUrl: string | undefined): BrokerUrls {
  const publicHost = URL.parse(publicUrl ?? '')?.hostname;
  if (!publicUrl || !publicHost) return urls;
  const out: BrokerUrls = { mqtt: publicUrl };
  for (const scheme of ['mqtts', 'ws', 'wss'] as const) {
    const url = URL.parse(urls[scheme] ?? '');
    if (!url) continue;
    url.hostname = publicHost;
    out[scheme] = url.toString();
  }
  return out;
}
