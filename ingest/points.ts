/**
 * The point model: measurement = pilot id, tag `device`, a field per key, ms timestamps; numbers
 * always floats. A measurement per pilot, because InfluxDB 1.x fixes a field's type per measurement
 * (docs/DESIGN.md, "Telemetry payloads, keys and types").
 */
import type { Reading, TelemetryValue } from '../core/reading.js';
import { parseTelemetryPayload } from '../core/telemetry.js';

/**
 * One reading, or every reading of one message taken by the fast path (line-scan.ts), as line
 * protocol: `count` lines joined by `\n`. Written, split on refusal and counted by its lines.
 */
export interface Point {
  pilotId: string;
  deviceId: string;
  /** The line protocol text: `count` lines. */
  line: string;
  count: number;
  /** The one reading (general path); unset for a message of the fast path. */
  reading?: Reading;
  /** The fast path's message, parsed again only when its readings are needed (live fan-out, a refusal). */
  source?: { payload: Buffer; receivedAt: number };
  /** A line split off a point of several lines (splitPoint): that point, and the line's index in it. */
  of?: { point: Point; index: number };
}

/** The readings of a point, in line order. */
export function pointReadings(p: Point): readonly Reading[] {
  if (p.reading) return [p.reading];
  if (!p.source) return [];
  // The fast path took the message only if every reading in it is valid: the same readings, in order.
  return parseTelemetryPayload(p.source.payload, p.source.receivedAt).readings;
}

/** A point of several lines as one point per line (to find which line InfluxDB refuses). */
export function splitPoint(p: Point): Point[] {
  if (p.count <= 1) return [p];
  const lines = p.line.split('\n');
  const readings = pointReadings(p);
  return lines.map((line, index) => ({
    pilotId: p.pilotId,
    deviceId: p.deviceId,
    line,
    count: 1,
    reading: readings[index] as Reading,
    of: { point: p, index },
  }));
}

/** The points InfluxDB stored: `points` without the `refused` ones (lines split off a point included). */
export function storedPoints(points: Point[], refused: readonly Point[]): Point[] {
  if (refused.length === 0) return points;
  const whole = new Set<Point>();
  const lines = new Map<Point, Set<number>>();
  for (const r of refused) {
    if (!r.of) whole.add(r);
    else if (lines.has(r.of.point)) lines.get(r.of.point)?.add(r.of.index);
    else lines.set(r.of.point, new Set([r.of.index]));
  }
  const out: Point[] = [];
  for (const p of points) {
    const gone = lines.get(p);
    if (gone) out.push(...splitPoint(p).filter((_, i) => !gone.has(i)));
    else if (!whole.has(p)) out.push(p);
  }
  return out;
}

/** Lines in `points`. */
export function lineCount(points: readonly Point[]): number {
  let n = 0;
  for (const p of points) n += p.count;
  return n;
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
  return { pilotId, deviceId, line, count: 1, reading };
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
