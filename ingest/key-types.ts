/**
 * Per-pilot key types (contract: "within a pilot a key keeps the type of its first value"). The
 * registry is the source of truth, shared by every process; this cache only remembers what it said,
 * which is safe because a claimed type never changes.
 */
import type { TelemetrySchemaStore, ValueType } from '../core/registry/types.js';
import type { Reading } from '../core/telemetry.js';
import { keyTypeMismatch as mismatch, valueType as typeOf } from '../core/value-types.js';

export class KeyTypeChecker {
  private readonly pilots = new Map<string, Map<string, ValueType>>();

  constructor(private readonly store: TelemetrySchemaStore) {}

  /**
   * Checks every value of a reading against the pilot's key types, claiming types for new keys.
   * Returns a reason naming the key and both types when a value has another type, else undefined.
   * Known keys are checked before new ones are claimed, so a refused reading claims nothing.
   */
  check(pilotId: string, reading: Reading): string | undefined {
    let known = this.pilots.get(pilotId);
    if (!known) {
      known = this.store.getKeyTypes(pilotId);
      this.pilots.set(pilotId, known);
    }
    let unknown: Map<string, ValueType> | undefined;
    for (const [key, value] of Object.entries(reading.values)) {
      const got = typeOf(value);
      const want = known.get(key);
      if (want === undefined) {
        unknown ??= new Map();
        unknown.set(key, got);
      } else if (want !== got) return mismatch(key, want, got);
    }
    if (!unknown) return undefined;
    const claimed = this.store.claimKeyTypes(pilotId, unknown);
    let reason: string | undefined;
    for (const [key, got] of unknown) {
      const want = claimed.get(key) ?? got;
      known.set(key, want);
      // Another process (or device) may have claimed the key first with another type.
      if (want !== got) reason ??= mismatch(key, want, got);
    }
    return reason;
  }
}
