/**
 * A device's session is its own, whatever client id it sends: its session key is `{deviceId}` when it
 * sent its own id, else `{deviceId}/{sent id}` (takeover [MQTT-3.1.4-2] stays within the device).
 * docs/DESIGN.md, "A device's session is its own".
 */
export function deviceSessionId(deviceId: string, sentId: string, assignedId: string): string {
  const device = encodeURIComponent(deviceId);
  if (sentId === deviceId) return device;
  return `${device}/${sentId === '' ? assignedId : sentId}`;
}
