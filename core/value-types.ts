/**
 * The type of a telemetry value, and how a type conflict is worded (contract: "within a pilot a key
 * keeps the type of its first value; a value of another type is refused ... naming the key and both
 * types"). Shared by ingest and the API's HTTP ingest, so both refuse with the same words.
 */
import type { ValueType } from './registry/types.js';
import type { TelemetryValue } from './telemetry.js';

export const valueType = (v: TelemetryValue): ValueType =>
  typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';

const article = (t: ValueType) => (t === 'number' ? 'a number' : t === 'boolean' ? 'a boolean' : 'a string');

export function keyTypeMismatch(key: string, want: ValueType, got: ValueType): string {
  return `key "${key}" is ${article(want)} in this pilot, got ${article(got)}`;
}
