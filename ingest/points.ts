/**
 * The point model (README "Telemetry in InfluxDB"): measurement = pilot id, tag `device` = device id,
 * one field per value key, timestamp = the reading's ts in milliseconds (written with precision=ms).
 * Numbers are always floats (line protocol without the `i` suffix), so `21` after `21.5` is no type
 * conflict; booleans are booleans and strings are strings.
 *
 * One measurement per pilot because InfluxDB 1.x fixes a field's type per measurement and shard: a
 * device sending a string for `temperature` can only ever claim that key in its own pilot.
 */
import type { Reading, TelemetryValue } from '../core/telemetry.js';

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
const quoteString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function fieldValue(v: TelemetryValue): string {
  if (typeof v === 'number') return String(v); // e.g. 21, 21.5, 1e+21: all floats in line protocol
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return quoteString(v);
}

/** Field keys need no escaping: the contract allows only letters, digits, `_`, `.` and `-`. */
export function toPoint(pilotId: string, deviceId: string, reading: Reading): Point {
  const fields = Object.entries(reading.values)
    .map(([k, v]) => `${k}=${fieldValue(v)}`)
    .join(',');
  const line = `${escapeMeasurement(pilotId)},device=${escapeTagValue(deviceId)} ${fields} ${reading.ts}`;
  return { pilotId, deviceId, reading, line };
}
