/**
 * Runs telemetry queries against InfluxDB (`/query` with `epoch=ms`, so times come back as epoch
 * milliseconds) and turns the series into readings. Statement errors, which InfluxDB reports with
 * HTTP 200 inside the result, become exceptions. The same statements run on either backend (1.x, or
 * the v2 API's InfluxQL endpoint): see core/influx/influxql.ts.
 */
import {
  type InfluxQL,
  type InfluxQLResponse,
  type InfluxSeries,
  parseQueryAnswer,
  type StatementResult,
} from '../../core/influx/influxql.js';
import { isValueKey, type TelemetryValue as Value } from '../../core/reading.js';
import {
  buildFieldKeysQuery,
  buildLatestQueries,
  buildPilotWindowQuery,
  buildRawQuery,
  buildWindowQuery,
  type DeviceSelector,
  type PilotWindowQuery,
  type RawRangeQuery,
  type WindowQuery,
} from './query.js';
import { windowsJson } from './windows-json.js';
import { windowsMsgpack } from './windows-msgpack.js';

export interface Reading {
  /** Epoch ms. */
  ts: number;
  values: Record<string, Value | null>;
}

export interface RawPage {
  items: Reading[];
  /** Time of the last item when more points follow; undefined on the last page. */
  lastTs: number | undefined;
}

export interface LatestValue {
  ts: number;
  value: Value;
}

export interface DeviceSeries {
  deviceId: string;
  points: { ts: number; value: Value | null }[];
}

export class InfluxQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfluxQueryError';
  }
}

/** Latest-value statements sent per request (keeps the URL short). */
const LATEST_STATEMENTS_PER_REQUEST = 100;

export class TelemetryReader {
  constructor(private readonly influx: InfluxQL) {}

  private async run(statements: string[]): Promise<StatementResult[]> {
    return checked(await this.influx.query(statements));
  }

  async raw(q: RawRangeQuery): Promise<RawPage> {
    if (q.keys === undefined && q.fields?.length === 0) return { items: [], lastTs: undefined };
    const [result] = await this.run([buildRawQuery(q)]);
    const items: Reading[] = [];
    for (const s of result?.series ?? []) {
      for (const row of s.values) {
        const values: Record<string, Value> = {};
        s.columns.forEach((c, i) => {
          const v = row[i];
          // `SELECT *` also returns the `device` tag; nulls are keys this point does not have.
          if (c !== 'time' && c !== 'device' && v !== null && v !== undefined) values[c] = v as Value;
        });
        items.push({ ts: row[0] as number, values });
      }
    }
    if (items.length > q.limit) {
      items.length = q.limit;
      return { items, lastTs: items[items.length - 1]?.ts };
    }
    return { items, lastTs: undefined };
  }

  async windows(q: WindowQuery): Promise<Reading[]> {
    if (q.keys === undefined && q.fields?.length === 0) return [];
    const [result] = await this.run([buildWindowQuery(q)]);
    return windowsFromSeries(result?.series?.[0], q);
  }

  /**
   * The windows as the JSON route's response body, written from InfluxDB's bytes when its answer is
   * plain (windows-json.ts); otherwise the same answer parsed, as windows() gives it.
   */
  async windowsJson(q: WindowQuery): Promise<Buffer | Reading[]> {
    if (q.keys === undefined && q.fields?.length === 0) return [];
    const answer = await this.influx.queryAnswer(buildWindowQuery(q));
    const star = q.keys === undefined && q.fields === undefined;
    const shape = { stripPrefix: star ? `${q.agg}_` : undefined, dropEmptyColumns: q.keys === undefined };
    const json =
      answer.format === 'msgpack' ? windowsMsgpack(answer.body, shape) : windowsJson(answer.body, shape);
    if (json) return json;
    const [result] = checked(parseQueryAnswer(answer));
    return windowsFromSeries(result?.series?.[0], q);
  }

  async pilotWindows(q: PilotWindowQuery): Promise<DeviceSeries[]> {
    const [result] = await this.run([buildPilotWindowQuery(q)]);
    return (result?.series ?? []).map((s) => ({
      deviceId: s.tags?.device ?? '',
      points: s.values.map((row) => ({ ts: row[0] as number, value: (row[1] ?? null) as Value | null })),
    }));
  }

  /** Field keys of the pilot's measurement (every device's keys). */
  async fieldKeys(pilotId: string): Promise<string[]> {
    const [result] = await this.run([buildFieldKeysQuery(pilotId)]);
    return (result?.series?.[0]?.values ?? []).map((row) => String(row[0]));
  }

  /**
   * The last value of each key; keys the device never had are left out. `keys` undefined: every key
   * of the pilot (devices registered before keys were tracked per device).
   */
  async latest(d: DeviceSelector, keys: string[] | undefined): Promise<Map<string, LatestValue>> {
    const wanted = keys ?? (await this.fieldKeys(d.pilotId)).filter(isValueKey);
    const out = new Map<string, LatestValue>();
    for (let i = 0; i < wanted.length; i += LATEST_STATEMENTS_PER_REQUEST) {
      const chunk = wanted.slice(i, i + LATEST_STATEMENTS_PER_REQUEST);
      const results = await this.run(buildLatestQueries(d, chunk));
      results.forEach((r) => {
        const row = r.series?.[0]?.values[0];
        const key = chunk[r.statement_id];
        if (row && key !== undefined && row[1] !== null && row[1] !== undefined) {
          out.set(key, { ts: row[0] as number, value: row[1] as Value });
        }
      });
    }
    return out;
  }
}

/** Statement errors come back with HTTP 200 inside the answer. */
function checked(raw: InfluxQLResponse): StatementResult[] {
  if (raw.error) throw new InfluxQueryError(raw.error);
  const results = raw.results ?? [];
  for (const r of results) if (r.error) throw new InfluxQueryError(r.error);
  return results;
}

export function windowsFromSeries(s: InfluxSeries | undefined, q: WindowQuery): Reading[] {
  if (!s) return [];
  const prefix = `${q.agg}_`;
  const star = q.keys === undefined && q.fields === undefined;
  const names = s.columns.map((c) => (star && c.startsWith(prefix) ? c.slice(prefix.length) : c));
  // Without `keys`, keep only the columns this device has a value in somewhere in the range (with
  // `agg(*)` the keys of every device of the pilot come back).
  const keep = names.map(
    (n, i) =>
      n !== 'time' &&
      (q.keys !== undefined || s.values.some((row) => row[i] !== null && row[i] !== undefined)),
  );
  return s.values.map((row) => {
    const values: Record<string, Value | null> = {};
    names.forEach((n, i) => {
      if (keep[i]) values[n] = (row[i] ?? null) as Value | null;
    });
    return { ts: row[0] as number, values };
  });
}
