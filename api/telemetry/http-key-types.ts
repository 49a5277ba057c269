/**
 * HTTP ingest's key checks, before the 202: a key with another type in the pilot, or past a key cap
 * (TELEMETRY_MAX_KEYS_*), is a 400 naming the key, not accepted and refused later by ingest. Known
 * keys are checked first, then the keys new to the device are claimed in the registry (first writer
 * wins, within the caps, also across processes), so ingest finds the same types and stores it all.
 * A request refused before the claim claims nothing; one refused by the claim (another writer came
 * first, or a cap filled meanwhile) may leave its other new keys claimed, as storing them would have.
 */
import { capReason, type KeyLimits, perReadingReason } from '../../core/key-limits.js';
import { keyTypeMismatch, type Reading, valueType } from '../../core/reading.js';
import type { KeyTypeStore, ValueType } from '../../core/registry/types.js';

export interface KeyCheck {
  /** Every type conflict and per-reading cap, each naming the key(s). */
  problems: string[];
  /** Keys the device has not sent before, with the type this request gives them. */
  newKeys: Map<string, ValueType>;
}

export async function checkKeys(
  store: Pick<KeyTypeStore, 'getKeyTypes' | 'getDeviceKeys'>,
  ids: { pilotId: string; deviceId: string },
  readings: readonly Reading[],
  limits: KeyLimits,
): Promise<KeyCheck> {
  const named = new Set<string>();
  for (const reading of readings) for (const key of Object.keys(reading.values)) named.add(key);
  const [pilotKeys, { keys: deviceKeys }] = await Promise.all([
    store.getKeyTypes(ids.pilotId, [...named]),
    store.getDeviceKeys(ids.deviceId),
  ]);
  const newKeys = new Map<string, ValueType>();
  const problems: string[] = [];
  for (const reading of readings) {
    const keys = Object.keys(reading.values);
    if (keys.length > limits.perReading) {
      problems.push(where(readings, reading) + perReadingReason(keys, limits.perReading));
    }
    for (const key of keys) {
      const got = valueType(reading.values[key] as Reading['values'][string]);
      // A key new to the pilot takes the type of its first value in this request.
      const want = deviceKeys.get(key) ?? pilotKeys.get(key) ?? newKeys.get(key);
      if (want !== undefined && want !== got) {
        problems.push(where(readings, reading) + keyTypeMismatch(key, want, got));
      }
      if (!deviceKeys.has(key) && !newKeys.has(key)) newKeys.set(key, want ?? got);
    }
  }
  return { problems, newKeys };
}

/** Claims the device's new keys; a problem for each key typed otherwise meanwhile or past a cap. */
export async function claimNewKeys(
  store: Pick<KeyTypeStore, 'claimDeviceKeys'>,
  ids: { pilotId: string; deviceId: string },
  newKeys: Map<string, ValueType>,
  limits: KeyLimits,
): Promise<string[]> {
  if (newKeys.size === 0) return [];
  const claim = await store.claimDeviceKeys(ids.pilotId, ids.deviceId, newKeys, limits);
  const problems: string[] = [];
  const refused = { device: [] as string[], pilot: [] as string[] };
  for (const [key, got] of newKeys) {
    const cap = claim.refused.get(key);
    if (cap) refused[cap].push(key);
    const want = claim.types.get(key);
    if (want !== undefined && want !== got) problems.push(keyTypeMismatch(key, want, got));
  }
  if (refused.device.length > 0) problems.push(capReason('device', refused.device, limits.perDevice));
  if (refused.pilot.length > 0) problems.push(capReason('pilot', refused.pilot, limits.perPilot));
  return problems;
}

const where = (readings: readonly Reading[], reading: Reading) =>
  readings.length > 1 ? `reading at ts ${reading.ts}: ` : '';
