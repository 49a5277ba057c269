/**
 * Per-pilot key types (a key keeps the type of its first value) and the key caps (TELEMETRY_MAX_KEYS_*),
 * cached from the registry, the source of truth. A key past a cap is a device error and the rest of
 * the reading is kept; a wrong type refuses the reading. docs/DESIGN.md.
 */
import { capReason, DEFAULT_KEY_LIMITS, type KeyLimits, perReadingReason } from '../core/key-limits.js';
import {
  keyTypeMismatch as mismatch,
  type Reading,
  type TelemetryValue,
  valueType as typeOf,
} from '../core/reading.js';
import type { KeyTypeStore, ValueType } from '../core/registry/types.js';

/** What to do with a reading that is not stored exactly as it came. */
export interface KeyVerdict {
  /** The reading to store (some keys left out), or undefined for none. */
  kept: Reading | undefined;
  reasons: string[];
}

/** Devices whose key sets are cached; past this the cache starts over (it refills from the registry). */
const MAX_CACHED_DEVICES = 100_000;

export class KeyTypeChecker {
  private readonly pilots = new Map<string, Map<string, ValueType>>();
  private readonly devices = new Map<string, Set<string>>();

  constructor(
    private readonly store: KeyTypeStore,
    private readonly limits: KeyLimits = DEFAULT_KEY_LIMITS,
  ) {}

  /**
   * Checks a reading's keys against the caps and its values against the pilot's key types, claiming
   * new keys for the device. Undefined: store the reading as it is. Synchronous when the caches
   * answer; a promise when the registry must be asked (a cold cache, a new key). Known keys are
   * checked before new ones are claimed, so a reading refused for a type claims nothing.
   */
  check(
    pilotId: string,
    deviceId: string,
    reading: Reading,
  ): KeyVerdict | undefined | Promise<KeyVerdict | undefined> {
    const known = this.pilots.get(pilotId);
    const mine = this.devices.get(deviceId);
    if (!known || !mine)
      return this.load(pilotId, deviceId).then(() => this.check(pilotId, deviceId, reading));
    let count = 0;
    let unknown: Map<string, ValueType> | undefined;
    for (const key in reading.values) {
      if (++count > this.limits.perReading) break;
      const got = typeOf(reading.values[key] as TelemetryValue);
      const want = known.get(key);
      if (want !== undefined && want !== got) return { kept: undefined, reasons: [mismatch(key, want, got)] };
      if (want !== undefined && mine.has(key)) continue;
      unknown ??= new Map();
      unknown.set(key, got);
    }
    if (count <= this.limits.perReading && !unknown) return undefined;
    const reasons: string[] = [];
    const dropped = new Set<string>();
    if (count > this.limits.perReading) reasons.push(this.trim(reading, dropped));
    if (!unknown) return keep(reading, dropped, reasons);
    return this.claim(pilotId, deviceId, unknown, known, mine, dropped, reasons).then((mismatchReason) =>
      mismatchReason ? { kept: undefined, reasons: [mismatchReason] } : keep(reading, dropped, reasons),
    );
  }

  /**
   * Whether `check` would store a reading with these keys and value types as it is, answered from the
   * caches alone and changing nothing (the fast path, line-scan.ts): every key known in the pilot with
   * this type and already the device's, within the per-reading cap.
   */
  storesAsIs(
    pilotId: string,
    deviceId: string,
    keys: readonly string[],
    types: readonly ValueType[],
  ): boolean {
    const known = this.pilots.get(pilotId);
    const mine = this.devices.get(deviceId);
    if (!known || !mine || keys.length > this.limits.perReading) return false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (known.get(key) !== types[i] || !mine.has(key)) return false;
    }
    return true;
  }

  /** Fills the caches of a pilot's key types and a device's keys from the registry. */
  private async load(pilotId: string, deviceId: string): Promise<void> {
    if (!this.pilots.has(pilotId)) this.pilots.set(pilotId, await this.store.getKeyTypes(pilotId));
    if (!this.devices.has(deviceId)) {
      const keys = new Set((await this.store.getDeviceKeys(deviceId)).keys.keys());
      if (this.devices.size >= MAX_CACHED_DEVICES) this.devices.clear();
      this.devices.set(deviceId, keys);
    }
  }

  /** Drops the keys past the per-reading cap (they come last in the payload). */
  private trim(reading: Reading, dropped: Set<string>): string {
    const keys = Object.keys(reading.values);
    for (const key of keys.slice(this.limits.perReading)) dropped.add(key);
    return perReadingReason(keys, this.limits.perReading);
  }

  /** Claims new keys; returns a type mismatch (the reading is refused) or adds cap reasons. */
  private async claim(
    pilotId: string,
    deviceId: string,
    unknown: Map<string, ValueType>,
    known: Map<string, ValueType>,
    mine: Set<string>,
    dropped: Set<string>,
    reasons: string[],
  ): Promise<string | undefined> {
    const refused = { device: [] as string[], pilot: [] as string[] };
    // Full caps are known here without asking the registry (sets only grow).
    const fullDevice = mine.size >= this.limits.perDevice;
    const toClaim = new Map<string, ValueType>();
    for (const [key, got] of unknown) {
      if (fullDevice) refused.device.push(key);
      else if (!known.has(key) && known.size >= this.limits.perPilot) refused.pilot.push(key);
      else toClaim.set(key, got);
    }
    const claimed = await this.store.claimDeviceKeys(pilotId, deviceId, toClaim, this.limits);
    let mismatchReason: string | undefined;
    for (const [key, got] of toClaim) {
      const cap = claimed.refused.get(key);
      if (cap) refused[cap].push(key);
      const want = claimed.types.get(key);
      if (want === undefined) continue;
      known.set(key, want);
      // Another process (or device) may have claimed the key first with another type.
      if (want !== got) mismatchReason ??= mismatch(key, want, got);
      else mine.add(key);
    }
    if (mismatchReason) return mismatchReason;
    for (const cap of ['device', 'pilot'] as const) {
      if (refused[cap].length === 0) continue;
      for (const key of refused[cap]) dropped.add(key);
      reasons.push(
        capReason(cap, refused[cap], cap === 'device' ? this.limits.perDevice : this.limits.perPilot),
      );
    }
    return undefined;
  }
}

/** The reading without the dropped keys, with the reasons; undefined when nothing was dropped. */
function keep(reading: Reading, dropped: Set<string>, reasons: string[]): KeyVerdict | undefined {
  if (reasons.length === 0) return undefined;
  const values: Record<string, TelemetryValue> = {};
  let left = 0;
  for (const key in reading.values) {
    if (dropped.has(key)) continue;
    values[key] = reading.values[key] as TelemetryValue;
    left++;
  }
  return { kept: left > 0 ? { ts: reading.ts, values } : undefined, reasons };
}
