/**
 * Several broker URLs (`mqtt://a:1883,mqtt://b:1883`, a cluster's nodes): each device starts on one of
 * them, chosen by its id so a fleet spreads evenly, and on every reconnect moves to the next one
 * (mqtt.js' `servers` list), so a device whose node dies fails over to the surviving ones. Also the
 * device's client options.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceOptions } from './types.js';

type Server = NonNullable<IClientOptions['servers']>[number];

export function parseBrokerUrls(list: string): string[] {
  return list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
}

/** The URL to connect to first and, for more than one, mqtt.js' `servers` rotated to start there. */
export function brokerTargets(list: string, deviceId: string): { url: string; servers?: Server[] } {
  const urls = parseBrokerUrls(list);
  if (urls.length <= 1) return { url: urls[0] ?? list };
  let hash = 0;
  for (const ch of deviceId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const first = hash % urls.length;
  const rotated = urls.map((_, k) => urls[(first + k) % urls.length]!);
  const servers = rotated.map((u) => {
    const parsed = new URL(u);
    const protocol = parsed.protocol.slice(0, -1) as Server['protocol'];
    return {
      host: parsed.hostname,
      port: Number(parsed.port || (protocol === 'mqtts' ? 8883 : 1883)),
      protocol,
    };
  });
  return { url: rotated[0]!, servers };
}

/** The device's client, as firmware configures one: its own client id, clean: false, MQTT 3.1.1, reconnects. */
export function connectDeviceClient(options: DeviceOptions): MqttClient {
  const { credentials } = options;
  // One URL, or a cluster's nodes (comma-separated): fail over between them.
  const { url, servers } = brokerTargets(options.brokerUrl, credentials.deviceId);
  return mqtt.connect(url, {
    ...(servers ? { servers } : {}),
    clientId: credentials.deviceId,
    username: credentials.username,
    password: credentials.password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: options.reconnectPeriodMs,
    connectTimeout: options.connectTimeoutMs,
    keepalive: options.keepaliveSeconds,
  });
}
