/** Shapes shared by the simulator's modules. */

import type { Reading } from '../core/reading.js';

export type { Reading, TelemetryValue as Value } from '../core/reading.js';

/** What a device needs to log in; the API's `credentials` object plus the device id. */
export interface DeviceCredentials {
  deviceId: string;
  /** MQTT username; the contract makes it the device id. */
  username: string;
  password: string;
  /** e.g. mqtt://127.0.0.1:1883; the fleet's `brokerUrl` option overrides it. */
  mqttUrl?: string | undefined;
  /** Defaults to `devices/{deviceId}/telemetry`. */
  topic?: string | undefined;
  /** Built-in or file profile this device simulates (kept in the credentials file). */
  profile?: string | undefined;
  name?: string | undefined;
}

/** The MQTT payload of one reading or of a batch (oldest first). */
export function encodePayload(readings: readonly Reading[]): string {
  return JSON.stringify(readings.length === 1 ? readings[0] : readings);
}
