/**
 * Generated InfluxDB answers to the windows query, for the transcoders' tests (test/windows-json.test.ts,
 * test/windows-msgpack.test.ts): the query, the shape the reader passes, and the answer's cells and
 * column names as InfluxDB may send them.
 */
import fc from 'fast-check';
import type { WindowQuery } from '../../api/telemetry/query.js';
import type { WindowsShape } from '../../api/telemetry/windows-write.js';

export type Agg = WindowQuery['agg'];

export function windowQuery(agg: Agg, keys: string[] | undefined, fields?: string[]): WindowQuery {
  const q = { pilotId: 'plt_a', deviceId: 'dev_a', from: 0, to: 1, everyMs: 60_000, agg };
  return { ...q, fill: 'none', order: 'asc', keys, fields };
}

/** As api/telemetry/reader.ts derives it from the query. */
export const shapeOf = (q: WindowQuery): WindowsShape => ({
  stripPrefix: q.keys === undefined && q.fields === undefined ? `${q.agg}_` : undefined,
  dropEmptyColumns: q.keys === undefined,
});

/** A cell JSON can carry: numbers (Go's -0 and integers past 2^53 included), null, booleans. */
export const jsonCell = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345, Number.MAX_SAFE_INTEGER) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
);

const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.\-é温]{0,12}$/).filter((k) => k !== 'time');

/** An answer's query, column names and rows; `columns()` and `values()` give them as InfluxDB sends them. */
export function windowAnswer(cell: fc.Arbitrary<unknown>) {
  return fc
    .record({
      agg: fc.constantFrom<Agg>('mean', 'max', 'last', 'count'),
      mode: fc.constantFrom('keys', 'fields', 'star'),
      names: fc.uniqueArray(key, { minLength: 1, maxLength: 5 }),
      start: fc.integer({ min: -86_400_000 * 400, max: 253_402_300_799_999 - 86_400_000 }),
      step: fc.constantFrom(1, 1000, 60_000, 3_600_000, 86_400_000),
      rows: fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { maxLength: 40 }),
      noSeries: fc.boolean(),
    })
    .map((a) => ({
      ...a,
      query: windowQuery(
        a.agg,
        a.mode === 'keys' ? a.names : undefined,
        a.mode === 'fields' ? a.names : undefined,
      ),
      columns: ['time', ...a.names.map((n) => (a.mode === 'star' ? `${a.agg}_${n}` : n))],
      values: a.rows.map((r, i) => [a.start + i * a.step, ...r.slice(0, a.names.length)]),
    }));
}
