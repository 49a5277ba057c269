/** Shapes shared by the simulator's modules. */

import type { Logger } from '../core/log.js';
import type { Reading } from '../core/reading.js';
import type { Profile } from './profiles.js';

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

export interface DeviceHooks {
  /** A reading was taken (before it is published or buffered). */
  onReading?(deviceId: string, reading: Reading): void;
  /** The broker acknowledged these readings (a live message or a buffer batch). */
  onAck?(deviceId: string, readings: readonly Reading[]): void;
  onError?(deviceId: string, error: Error): void;
}

export interface DeviceOptions {
  credentials: DeviceCredentials;
  profile: Profile;
  brokerUrl: string;
  bufferDir: string;
  seed: number;
  /** Override the profile's interval and jitter. */
  intervalMs?: number | undefined;
  jitterMs?: number | undefined;
  /** Take readings on the profile's interval; false when a load driver sends instead. */
  periodic: boolean;
  /** Readings per offline-buffer batch message. */
  flushBatchSize: number;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  keepaliveSeconds: number;
  hooks: DeviceHooks;
  now: () => number;
  logger: Logger;
}

/** A message in flight (device.ts). */
export interface Pending {
  readings: readonly Reading[];
  /** live: only in this message; buffer: still in the disk buffer until acknowledged. */
  kind: 'live' | 'buffer';
  settle?: (err?: Error) => void;
}
