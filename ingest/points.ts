/**
 * The point model (README "Telemetry in InfluxDB"): measurement = pilot id, tag `device` = device id,
 * one field per value key, timestamp = the reading's ts in milliseconds (written with precision=ms).
 * Numbers are always floats (line protocol without the `i` suffix), so `21` after `21.5` is no type
 * conflict; booleans are booleans and strings are strings.
 *
 * One measurement per pilot because InfluxDB 1.x fixes a field's type per measurement and shard: a
 * device sending a string for `temperature` can only ever claim that key in its own pilot.
 */
import type { Reading, TelemetryValue } from '../core/reading.js';

export interface Point {
  pilotId: string;
  deviceId: string;
  reading: Reading;
  /** The line protocol text of this point. */
  line: string;
}

// Line protocol escaping (InfluxDB 1.x docs, "Line protocol syntax: special characters").
const escapeMeasurement = (s: string) => s.replace(/[\\, ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const escapeTagValue = (s: string) => s.replace(/[\\,= ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const NEEDS_QUOTING = /[\\"]/;
const quoteString = (s: string) =>
  NEEDS_QUOTING.test(s) ? `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${s}"`;

/**
 * `{measurement},device={tag} ` for each pilot and device, escaped once: every reading of a device
 * starts with the same text. Bounded: cleared when it holds `MAX_PREFIXES` devices.
 */
const prefixes = new Map<string, Map<string, string>>();
let prefixCount = 0;
const MAX_PREFIXES = 100_000;

export function linePrefix(pilotId: string, deviceId: string): string {
  let devices = prefixes.get(pilotId);
  if (devices === undefined) {
    devices = new Map();
    prefixes.set(pilotId, devices);
  }
  let prefix = devices.get(deviceId);
  if (prefix === undefined) {
    if (prefixCount >= MAX_PREFIXES) {
      prefixes.clear();
      prefixes.set(pilotId, devices);
      devices.clear();
      prefixCount = 0;
    }
    prefix = `${escapeMeasurement(pilotId)},device=${escapeTagValue(deviceId)} `;
    devices.set(deviceId, prefix);
    prefixCount++;
  }
  return prefix;
}

/** Field keys need no escaping: the contract allows only letters, digits, `_`, `.` and `-`. */
export function toPoint(pilotId: string, deviceId: string, reading: Reading): Point {
  let line = linePrefix(pilotId, deviceId);
  let first = true;
  const values = reading.values;
  for (const key in values) {
    const v = values[key] as TelemetryValue;
    // Numbers: e.g. 21, 21.5, 1e+21, all floats in line protocol.
    const text =
      typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 'true' : 'false') : quoteString(v);
    line += first ? `${key}=${text}` : `,${key}=${text}`;
    first = false;
  }
  line += ` ${timestampText(reading.ts)}`;
  return { pilotId, deviceId, reading, line };
}

const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000'];

/**
 * `String(ts)` for a reading's ts (a safe integer, 0 to MAX_TS_MS), cheaper: today's epoch
 * milliseconds are past 2^31, so V8 formats them as doubles (about 200 ns); the two halves below
 * 10^7 are small integers, formatted fast, and the high half repeats for hours (V8's number-string
 * cache). This was a third of the line protocol's cost in the batched benchmark.
 */
export function timestampText(ts: number): string {
  if (ts < 10_000_000) return String(ts);
  const high = Math.floor(ts / 10_000_000);
  const low = String(ts - high * 10_000_000);
  return `${high}${ZEROS[7 - low.length] as string}${low}`;
}
