/**
 * Client ids and sessions. A device may connect with any client id MQTT 3.1.1 allows (mosquitto_pub's
 * empty one, `fridge-1`, mqtt.js's `mqttjs_...`, an SDK's own), but its session belongs to the device:
 * aedes keys sessions, takeover [MQTT-3.1.4-2], queued QoS 1 messages, wills and QoS 2 state by
 * `client.id`, so a device's `client.id` is set (in authenticate, before aedes registers the client or
 * reads its session) to a session key made of its device id and the id it sent:
 *
 * - `{deviceId}` when it sent its own device id (the documented setting; sessions kept before this
 *   scheme existed stay where they were);
 * - `{deviceId}/{sent id}` otherwise, with the broker-assigned `aedes_...` id for an empty one.
 *
 * Device ids contain no `/` (`dev_` + base32, encoded here anyway), so the part before the first `/`
 * names the device: two devices never share a key whatever ids they send, and the same device with
 * the same id gets the same key (the second connection takes the first one's session over, as MQTT
 * says). Other clients cannot land in a device's namespace: anonymous clients must send an empty id
 * or one starting with `anon-`, and the platform's services use their own (`svc:ingest`, `svc-api-...`).
 */
export function deviceSessionId(deviceId: string, sentId: string, assignedId: string): string {
  const device = encodeURIComponent(deviceId);
  if (sentId === deviceId) return device;
  return `${device}/${sentId === '' ? assignedId : sentId}`;
}
