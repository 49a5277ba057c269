/** A reading and the contract's rules for its keys and values, defined once for every component. */

export type TelemetryValue = number | boolean | string;
/** The type a key keeps within a pilot (contract: "a key keeps the type of its first value"). */
export type ValueType = 'number' | 'boolean' | 'string';

/** Parsing builds every reading with exactly these two properties, in this order (ingest/fanout.ts). */
export interface Reading {
  /** Epoch milliseconds. */
  ts: number;
  values: Record<string, TelemetryValue>;
}

/** A letter, then letters, digits, `_`, `.` or `-`; at most 64 characters. */
export const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** InfluxDB's time column and our device tag: never value keys. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['time', 'device']);
/** InfluxDB 1.x refuses string fields longer than 64 KiB. */
export const MAX_STRING_BYTES = 64 * 1024;
/** The last millisecond InfluxDB 1.x can store (int64 nanoseconds, 2262-04-11). */
export const MAX_TS_MS = 9_223_372_036_854;

export const isValueKey = (key: string) => KEY_PATTERN.test(key) && !RESERVED_KEYS.has(key);

export const valueType = (v: TelemetryValue): ValueType =>
  typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';

const article = (t: ValueType) => (t === 'number' ? 'a number' : t === 'boolean' ? 'a boolean' : 'a string');

/** How ingest and HTTP ingest word a type conflict, naming the key and both types. */
export function keyTypeMismatch(key: string, want: ValueType, got: ValueType): string {
  return `key "${key}" is ${article(want)} in this pilot, got ${article(got)}`;
}
