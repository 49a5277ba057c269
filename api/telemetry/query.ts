/**
 * InfluxQL for telemetry reads, built only from validated parts:
 * - names (pilot id = measurement, device id = tag value, value keys = fields) must match a strict
 *   grammar here as well as at the API edge, and are then quoted with node-influx's `escape.quoted`
 *   (identifiers) or `escape.stringLit` (the device tag value);
 * - times and durations are safe integers of milliseconds, written as `<n>ms`;
 * - aggregate, fill and order are picked from fixed lists.
 * A request parameter can therefore never add InfluxQL of its own (see the injection tests).
 *
 * Storage model: one measurement per pilot, tag `device`, one field per value key, ms timestamps.
 */
import { escape as influxEscape } from 'influx';
import { isValueKey } from '../../core/reading.js';

export const AGGREGATES = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
/** Aggregates that InfluxDB 1.6 computes only over numbers. */
export const NUMERIC_AGGREGATES: readonly Aggregate[] = ['mean', 'min', 'max', 'sum'];
export const FILLS = ['none', 'null', 'previous'] as const;
export type Fill = (typeof FILLS)[number];
export type Order = 'asc' | 'desc';

/** Registry ids: prefix, underscore, lower-case base32 (looser here: only what is safe to quote). */
const ID_PATTERN = /^[a-z]{3}_[a-z0-9]{1,64}$/;

/** A range `[from, to)` in epoch ms. */
export interface TimeRange {
  from: number;
  to: number;
}

export interface DeviceSelector {
  pilotId: string;
  deviceId: string;
}

/** Without `keys`: the device's own keys, selected instead of `*` (every key of the pilot). */
export interface OwnFields {
  fields?: string[] | undefined;
}

export interface RawRangeQuery extends DeviceSelector, TimeRange, OwnFields {
  /** Undefined: every key the device has. */
  keys: string[] | undefined;
  order: Order;
  /** At most this many points are returned (the builder asks for one more to know if a next page exists). */
  limit: number;
}

export interface WindowSpec {
  everyMs: number;
  agg: Aggregate;
  fill: Fill;
}

export interface WindowQuery extends DeviceSelector, TimeRange, WindowSpec, OwnFields {
  keys: string[] | undefined;
  order: Order;
}

export interface PilotWindowQuery extends TimeRange, WindowSpec {
  pilotId: string;
  key: string;
}

export class UnsafeQueryInputError extends Error {
  constructor(what: string) {
    super(`refusing to build InfluxQL from an unchecked ${what}`);
    this.name = 'UnsafeQueryInputError';
  }
}

function id(value: string, what: string): string {
  if (!ID_PATTERN.test(value)) throw new UnsafeQueryInputError(what);
  return value;
}

/** A field key as a quoted InfluxQL identifier. */
export function fieldIdent(key: string): string {
  if (!isValueKey(key)) throw new UnsafeQueryInputError('key');
  return influxEscape.quoted(key);
}

const measurement = (pilotId: string) => influxEscape.quoted(id(pilotId, 'pilot id'));
// node-influx's stringLit escapes `'` but not `\`; the id grammar check above it is what keeps a
// trailing backslash from escaping the closing quote.
const deviceIs = (deviceId: string) => `"device" = ${influxEscape.stringLit(id(deviceId, 'device id'))}`;

function ms(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new UnsafeQueryInputError(what);
  return `${n}ms`;
}

function timeWhere(r: TimeRange): string {
  return `time >= ${ms(r.from, 'from')} AND time < ${ms(r.to, 'to')}`;
}

function positiveInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new UnsafeQueryInputError(what);
  return n;
}

const orderBy = (o: Order) => (o === 'desc' ? ' ORDER BY time DESC' : '');

/** How many GROUP BY time() windows `[from, to)` spans: InfluxDB aligns windows to multiples of `every` since the epoch. */
export function windowCount(r: TimeRange, everyMs: number): number {
  if (r.to <= r.from) return 0;
  return Math.floor((r.to - 1) / everyMs) - Math.floor(r.from / everyMs) + 1;
}

export function buildRawQuery(q: RawRangeQuery): string {
  const keys = q.keys ?? q.fields;
  const select = keys === undefined ? '*' : keys.map(fieldIdent).join(', ');
  const limit = positiveInt(q.limit, 'limit') + 1;
  return `SELECT ${select} FROM ${measurement(q.pilotId)} WHERE ${deviceIs(q.deviceId)} AND ${timeWhere(q)}${orderBy(q.order)} LIMIT ${limit}`;
}

function aggSelect(agg: Aggregate, keys: string[] | undefined): string {
  if (!(AGGREGATES as readonly string[]).includes(agg)) throw new UnsafeQueryInputError('aggregate');
  // agg(*) names its columns `<agg>_<key>`; explicit keys keep their own names.
  return keys === undefined
    ? `${agg}(*)`
    : keys.map((k) => `${agg}(${fieldIdent(k)}) AS ${fieldIdent(k)}`).join(', ');
}

function groupByTime(w: WindowSpec, extra = ''): string {
  if (!(FILLS as readonly string[]).includes(w.fill)) throw new UnsafeQueryInputError('fill');
  return ` GROUP BY time(${ms(positiveInt(w.everyMs, 'every'), 'every')})${extra} fill(${w.fill})`;
}

export function buildWindowQuery(q: WindowQuery): string {
  return `SELECT ${aggSelect(q.agg, q.keys ?? q.fields)} FROM ${measurement(q.pilotId)} WHERE ${deviceIs(q.deviceId)} AND ${timeWhere(q)}${groupByTime(q)}${orderBy(q.order)}`;
}

export function buildPilotWindowQuery(q: PilotWindowQuery): string {
  return `SELECT ${aggSelect(q.agg, [q.key])} FROM ${measurement(q.pilotId)} WHERE ${timeWhere(q)}${groupByTime(q, ', "device"')}`;
}

/**
 * One statement per key: with several selectors in one statement (`last(*)`), InfluxDB 1.x reports
 * the time as 0, and each key needs its own timestamp.
 */
export function buildLatestQueries(d: DeviceSelector, keys: string[]): string[] {
  return keys.map(
    (k) => `SELECT last(${fieldIdent(k)}) FROM ${measurement(d.pilotId)} WHERE ${deviceIs(d.deviceId)}`,
  );
}

export function buildFieldKeysQuery(pilotId: string): string {
  return `SHOW FIELD KEYS FROM ${measurement(pilotId)}`;
}
