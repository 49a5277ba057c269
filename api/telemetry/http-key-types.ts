/**
 * HTTP ingest's key types: a reading whose key already has another type in the pilot is refused with
 * the 400 (naming the key and both types), not accepted with 202 and refused later by ingest. Known
 * types are checked first, then new keys are claimed in the registry (first writer wins, also across
 * processes) before the body goes to the broker, so ingest finds the same types and stores it.
 * A request refused for any reason claims nothing; one that fails after the claim (broker gone)
 * leaves its new keys typed as the request had them, as storing it would have.
 */
import type { TelemetrySchemaStore, ValueType } from '../../core/registry/types.js';
import type { Reading } from '../../core/telemetry.js';
import { keyTypeMismatch, valueType } from '../../core/value-types.js';

export interface KeyTypeCheck {
  /** Every type conflict, each naming the key and both types. */
  problems: string[];
  /** Keys the pilot does not know yet, with the type this request gives them. */
  newKeys: Map<string, ValueType>;
}

export function checkKeyTypes(
  store: TelemetrySchemaStore,
  pilotId: string,
  readings: readonly Reading[],
): KeyTypeCheck {
  const known = store.getKeyTypes(pilotId);
  const newKeys = new Map<string, ValueType>();
  const problems: string[] = [];
  for (const reading of readings) {
    for (const [key, value] of Object.entries(reading.values)) {
      const got = valueType(value);
      // A key new to the pilot takes the type of its first value in this request.
      const want = known.get(key) ?? newKeys.get(key);
      if (want === undefined) newKeys.set(key, got);
      else if (want !== got) problems.push(where(readings, reading) + keyTypeMismatch(key, want, got));
    }
  }
  return { problems, newKeys };
}

/** Claims the new keys; returns a problem for each key another writer claimed first with another type. */
export function claimNewKeys(
  store: TelemetrySchemaStore,
  pilotId: string,
  newKeys: Map<string, ValueType>,
): string[] {
  if (newKeys.size === 0) return [];
  const claimed = store.claimKeyTypes(pilotId, newKeys);
  const problems: string[] = [];
  for (const [key, got] of newKeys) {
    const want = claimed.get(key) ?? got;
    if (want !== got) problems.push(keyTypeMismatch(key, want, got));
  }
  return problems;
}

const where = (readings: readonly Reading[], reading: Reading) =>
  readings.length > 1 ? `reading at ts ${reading.ts}: ` : '';
