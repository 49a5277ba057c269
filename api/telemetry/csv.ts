/**
 * CSV for telemetry (`Accept: text/csv`), RFC 4180: CRLF line ends, a header row, and a field quoted
 * (with its quotes doubled) when it holds a comma, a quote, CR or LF, or starts or ends with a space.
 * Header: `ts` then one column per key; an absent or null value is an empty field.
 *
 * CSV injection (OWASP "CSV Injection"): a string value starting with `=`, `+`, `-`, `@`, tab or CR
 * would run as a formula in a spreadsheet, so it goes out prefixed with a single quote, and quoted.
 * Numbers are never touched (-3 is a number, not a formula); only string values are neutralised.
 */
import type { TelemetryValue as Value } from '../../core/reading.js';
import { formatTs } from './time.js';

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: Value | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' && FORMULA_START.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(fields: (Value | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** Columns: the requested keys in their order, or else every key seen, sorted. */
export function csvColumns(
  rows: { values: Record<string, unknown> }[],
  keys: string[] | undefined,
): string[] {
  if (keys !== undefined) return keys;
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.values)) seen.add(k);
  return [...seen].sort();
}

export function readingsToCsv(
  rows: { ts: number; values: Record<string, Value | null> }[],
  keys: string[] | undefined,
): string {
  const columns = csvColumns(rows, keys);
  let out = csvRow(['ts', ...columns]);
  // Own properties only: a key named like an Object method (`toString`) must not print a function.
  for (const r of rows) {
    out += csvRow([formatTs(r.ts), ...columns.map((c) => (Object.hasOwn(r.values, c) ? r.values[c] : null))]);
  }
  return out;
}

/** Pilot series: one row per device and window, `ts,device,<key>`. */
export function seriesToCsv(
  key: string,
  series: { deviceId: string; points: { ts: number; value: Value | null }[] }[],
): string {
  let out = csvRow(['ts', 'device', key]);
  for (const s of series) for (const p of s.points) out += csvRow([formatTs(p.ts), s.deviceId, p.value]);
  return out;
}

/** True when `Accept` prefers text/csv (over an explicitly listed application/json; ties go to JSON). */
export function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csvQ = -1;
  let jsonQ = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) || 0 : 1;
    if (type.trim() === 'text/csv') csvQ = Math.max(csvQ, q);
    if (type.trim() === 'application/json') jsonQ = Math.max(jsonQ, q);
  }
  return csvQ > 0 && csvQ > jsonQ;
}
