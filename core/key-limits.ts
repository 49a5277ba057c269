/**
 * Caps on telemetry keys (TELEMETRY_MAX_KEYS_PER_READING, _PER_DEVICE, _PER_PILOT) and how a key
 * past a cap is worded. Shared by ingest and the API's HTTP ingest, so both refuse with the same words.
 */
import type { KeyCaps } from './registry/types.js';

export interface KeyLimits extends KeyCaps {
  perReading: number;
}

/** Defaults of TELEMETRY_MAX_KEYS_PER_READING, _PER_DEVICE and _PER_PILOT. */
export const DEFAULT_KEY_LIMITS: KeyLimits = { perReading: 256, perDevice: 1000, perPilot: 10_000 };

export function perReadingReason(keys: string[], limit: number): string {
  return (
    `reading has ${keys.length} keys, more than TELEMETRY_MAX_KEYS_PER_READING (${limit}): ` +
    `kept the first ${limit}, refused ${listKeys(keys.slice(limit))}`
  );
}

export function capReason(cap: 'device' | 'pilot', keys: string[], limit: number): string {
  const variable = cap === 'device' ? 'TELEMETRY_MAX_KEYS_PER_DEVICE' : 'TELEMETRY_MAX_KEYS_PER_PILOT';
  const what = cap === 'device' ? 'this device has' : "this device's pilot has";
  return `${keys.length === 1 ? 'new key' : `${keys.length} new keys`} ${listKeys(keys)} refused: ${what} ${limit} distinct keys, the limit ${variable}`;
}

/** `"a", "b", "c" and 17 more`. */
export function listKeys(keys: string[]): string {
  const shown = keys
    .slice(0, 5)
    .map((k) => JSON.stringify(k))
    .join(', ');
  return keys.length > 5 ? `${shown} and ${keys.length - 5} more` : shown;
}
