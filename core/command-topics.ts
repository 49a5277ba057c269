/**
 * MQTT topics of commands and device twins (issue 15), and how a device's publish under them is
 * classified. Devices publish only their answers, reports and twin requests; what the platform sends
 * them (commands, desired, delta, get responses) no device may publish, also not to itself.
 */

/** Commands to the device, QoS 1: `{commandId, name, params, expiresAt, responseTopic}`. */
export const commandsTopic = (deviceId: string) => `devices/${deviceId}/commands`;
/** The device's answer: `{status: "ok" | "error", result}`. */
export const commandResponseTopic = (deviceId: string, commandId: string) =>
  `devices/${deviceId}/commands/${commandId}/response`;

export const twinTopic = (
  deviceId: string,
  leaf: 'reported' | 'desired' | 'delta' | 'get' | 'get/response',
) => `devices/${deviceId}/twin/${leaf}`;

/**
 * A change of a device's commands or twin (`{type: "command", command}` or `{type: "twin", twin}`),
 * QoS 1 from the API (the broker delivers on it) and QoS 0 from the broker (for live streams).
 */
export const deviceChangesTopic = (pilotId: string, deviceId: string) =>
  `$platform/device-changes/${pilotId}/${deviceId}`;
export const DEVICE_CHANGES_FILTER = '$platform/device-changes/+/+';

export function parseDeviceChangesTopic(topic: string): { pilotId: string; deviceId: string } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== '$platform' || parts[1] !== 'device-changes') return undefined;
  if (!parts[2] || !parts[3]) return undefined;
  return { pilotId: parts[2], deviceId: parts[3] };
}

export type ControlTopic =
  | { kind: 'command-response'; commandId: string }
  | { kind: 'twin-reported' }
  | { kind: 'twin-get' }
  /** A topic the platform publishes to the device. */
  | { kind: 'reserved' };

/** What a device's own topic under `commands/` or `twin/` is; undefined for any other topic. */
export function controlTopicOf(deviceId: string, topic: string): ControlTopic | undefined {
  const prefix = `devices/${deviceId}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length).split('/');
  if (rest[0] === 'commands') {
    if (rest.length === 3 && rest[2] === 'response' && rest[1]) {
      return { kind: 'command-response', commandId: rest[1] };
    }
    return { kind: 'reserved' };
  }
  if (rest[0] === 'twin') {
    if (rest.length === 2 && rest[1] === 'reported') return { kind: 'twin-reported' };
    if (rest.length === 2 && rest[1] === 'get') return { kind: 'twin-get' };
    return { kind: 'reserved' };
  }
  return undefined;
}

/** Whether an MQTT filter matches a topic name [MQTT-4.7.1]. */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
