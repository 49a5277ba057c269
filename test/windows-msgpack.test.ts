/**
 * The windows JSON written from InfluxDB's MessagePack answer (api/telemetry/windows-msgpack.ts)
 * against the general way (decodeMsgpack, windowsFromSeries, formatTs, JSON.stringify) and against
 * the JSON transcoder on the same answer, on generated answers in every integer and header form the
 * spec allows; then on real influxd answers, both formats of the same query.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowQuery } from '../api/telemetry/query.js';
import { type Reading, TelemetryReader, windowsFromSeries } from '../api/telemetry/reader.js';
import { formatTs } from '../api/telemetry/time.js';
import { windowsJson } from '../api/telemetry/windows-json.js';
import { windowsMsgpack } from '../api/telemetry/windows-msgpack.js';
import type { WindowsShape } from '../api/telemetry/windows-write.js';
import type { InfluxQLResponse, InfluxSeries } from '../core/influx/influxql.js';
import { decodeMsgpack } from '../core/influx/msgpack.js';
import { influxQueryBody } from '../core/influx/query-http.js';
import { sharedInflux } from './helpers/influxd.js';
import { encodeMsgpack } from './helpers/msgpack-encode.js';

type Agg = WindowQuery['agg'];

function query(agg: Agg, keys: string[] | undefined, fields?: string[]): WindowQuery {
  const q = { pilotId: 'plt_a', deviceId: 'dev_a', from: 0, to: 1, everyMs: 60_000, agg };
  return { ...q, fill: 'none', order: 'asc', keys, fields };
}

const shapeOf = (q: WindowQuery): WindowsShape => ({
  stripPrefix: q.keys === undefined && q.fields === undefined ? `${q.agg}_` : undefined,
  dropEmptyColumns: q.keys === undefined,
});

function answerOf(series: InfluxSeries | undefined) {
  return { results: [{ statement_id: 0, series: series ? [series] : [] }] };
}

/** What the route answers the general way from a MessagePack answer. */
function general(body: Buffer, q: WindowQuery): string {
  const s = (decodeMsgpack(body) as InfluxQLResponse).results?.[0]?.series?.[0];
  const items = windowsFromSeries(s, q).map((r) => ({ ts: formatTs(r.ts), values: r.values }));
  return JSON.stringify({ items, nextCursor: null });
}

const fast = (body: Buffer, q: WindowQuery) => windowsMsgpack(body, shapeOf(q))?.toString();

const cell = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e21, 1e-7, 2 ** 53 + 2, -(2 ** 63), 2 ** 64 - 2 ** 12) },
  { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NaN) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
);
const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.\-é温]{0,12}$/).filter((k) => k !== 'time');
const generated = fc.record({
  agg: fc.constantFrom<Agg>('mean', 'max', 'last', 'count'),
  mode: fc.constantFrom('keys', 'fields', 'star'),
  names: fc.uniqueArray(key, { minLength: 1, maxLength: 5 }),
  start: fc.integer({ min: -86_400_000 * 400, max: 253_402_300_799_999 - 86_400_000 }),
  step: fc.constantFrom(1, 1000, 60_000, 3_600_000, 86_400_000),
  rows: fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { maxLength: 40 }),
  noSeries: fc.boolean(),
  wide: fc.infiniteStream(fc.boolean()),
  floats: fc.boolean(),
});

describe('windows JSON from InfluxDB MessagePack', () => {
  it('writes exactly what the general way writes, and what the JSON transcoder writes', () => {
    fc.assert(
      fc.property(generated, (a) => {
        const q = query(
          a.agg,
          a.mode === 'keys' ? a.names : undefined,
          a.mode === 'fields' ? a.names : undefined,
        );
        const columns = ['time', ...a.names.map((n) => (a.mode === 'star' ? `${a.agg}_${n}` : n))];
        const values = a.rows.map((r, i) => [a.start + i * a.step, ...r.slice(0, a.names.length)]);
        const answer = answerOf(
          a.noSeries || values.length === 0 ? undefined : { name: 'plt_a', columns, values },
        );
        const wide = a.wide[Symbol.iterator]();
        const body = encodeMsgpack(answer, {
          wide: () => wide.next().value as boolean,
          // InfluxDB writes a float field's integral values as float64 too.
          isFloat: (n) => !Number.isSafeInteger(n) || Object.is(n, -0) || (a.floats && n !== values[0]?.[0]),
        });
        const out = fast(body, q);
        expect(out).toBeDefined();
        expect(out).toBe(general(body, q));
        // The same answer as JSON (where JSON can carry it: no NaN or infinity), transcoded the other way.
        if (!values.flat().some((v) => typeof v === 'number' && !Number.isFinite(v))) {
          const json = Buffer.from(
            JSON.stringify(answer.results[0]!.series.length ? answer : { results: [{ statement_id: 0 }] }),
          );
          expect(windowsJson(json, shapeOf(q))?.toString()).toBe(out);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('leaves every answer it does not write exactly to the general way', () => {
    const series = (over: object) => ({ name: 'p', columns: ['time', 'a'], values: [[0, 1]], ...over });
    const notPlain: unknown[] = [
      answerOf(series({ values: [[0, 'text']] })), // strings (first/last of a string key)
      answerOf(series({ columns: ['time', 'a"b'] })),
      answerOf(series({ columns: ['time', 'a\\b'] })),
      answerOf(series({ columns: ['time', 'a\nb'] })),
      answerOf(series({ columns: ['time', 'time'] })),
      answerOf(series({ columns: ['a', 'time'] })),
      answerOf(
        series({
          values: [
            [0, 1],
            [60000, 2, 3],
          ],
        }),
      ), // a row of the wrong width
      answerOf(series({ values: [[0.5, 1]] })), // a time that is not an integer
      answerOf(series({ values: [[2 ** 60, 1]] })), // past 2^53
      { results: [{ statement_id: 0, error: 'field type conflict' }] },
      { error: 'error parsing query' },
      { results: [{ statement_id: 0, messages: [{ level: 'warning', text: 'x' }], series: [] }] },
      {
        results: [
          {
            statement_id: 0,
            series: [{ name: 'p', tags: { device: 'd' }, columns: ['time', 'a'], values: [[0, 1]] }],
          },
        ],
      },
      { results: [{ statement_id: 0, series: [series({}), series({})] }] },
      { results: [{ statement_id: 0, series: [series({})], partial: true }] },
      { results: [{ statement_id: 1, series: [series({})] }] },
    ];
    for (const answer of notPlain) expect(fast(encodeMsgpack(answer), query('mean', ['a']))).toBeUndefined();
    const plain = encodeMsgpack(answerOf(series({})));
    expect(fast(plain, query('mean', ['a']))).toBe(
      '{"items":[{"ts":"1970-01-01T00:00:00.000Z","values":{"a":1}}],"nextCursor":null}',
    );
    expect(fast(plain.subarray(0, plain.length - 1), query('mean', ['a']))).toBeUndefined(); // truncated
    expect(fast(Buffer.concat([plain, Buffer.from([0xc0])]), query('mean', ['a']))).toBeUndefined(); // trailing
    // A name that is not valid UTF-8: the general way decodes it to U+FFFD, so it is not copied.
    const badName = Buffer.from(encodeMsgpack(answerOf(series({ columns: ['time', 'aé'] }))));
    badName[badName.indexOf(Buffer.from('aé')) + 1] = 0xff;
    expect(fast(badName, query('mean', ['a']))).toBeUndefined();
  });

  it('answers as the JSON way does on real influxd answers of every value type', async () => {
    const influx = await sharedInflux();
    const T = Date.UTC(2026, 0, 1);
    const lines = [
      `plt_a,device=dev_a f=1.5,i=7i,b=true,s="h\u00e9\\"llo",z=-0 ${T}`,
      `plt_a,device=dev_a f=1152921504606846976,i=-9007199254740993i,b=false,z=1e-9 ${T + 61_000}`,
      `plt_a,device=dev_a f=0.30000000000000004,i=2147483648i,z=1e21 ${T + 122_000}`,
    ];
    const write = await fetch(`${influx.url}/write?db=${influx.database}&precision=ms`, {
      method: 'POST',
      body: lines.join('\n'),
    });
    expect(write.status).toBe(204);
    const jsonAnswer = influxQueryBody({ url: influx.url, headers: {}, timeoutMs: 10_000 });
    const viaJson = new TelemetryReader({
      ...influx,
      queryAnswer: (statement) => jsonAnswer({ db: influx.database, epoch: 'ms', q: statement }),
    });
    const viaMsgpack = new TelemetryReader(influx);
    expect((await influx.queryAnswer('SHOW DATABASES')).format).toBe('msgpack');
    let writtenFromMsgpack = 0;
    for (const agg of ['mean', 'last', 'max', 'count', 'sum'] as Agg[]) {
      for (const keys of [undefined, ['f', 'i', 'z'], ['s', 'b']]) {
        const q = { ...query(agg, keys), from: T, to: T + 600_000 };
        const [a, b] = await Promise.allSettled([viaJson.windowsJson(q), viaMsgpack.windowsJson(q)]);
        if (a.status === 'rejected' || b.status === 'rejected') {
          // e.g. mean over a string key: InfluxDB's words, whichever format carried them (which
          // key it names first varies from run to run).
          expect([a.status, b.status]).toEqual(['rejected', 'rejected']);
          const words = (r: PromiseSettledResult<unknown>) =>
            String((r as PromiseRejectedResult).reason).split(':')[0];
          expect(words(b)).toBe(words(a));
          continue;
        }
        expect(routeJson(b.value)).toEqual(routeJson(a.value));
        if (Buffer.isBuffer(b.value)) writtenFromMsgpack++;
      }
    }
    expect(writtenFromMsgpack).toBeGreaterThanOrEqual(10);
  });
});

/** The route's response value, from bytes or from readings (the general way). */
function routeJson(answer: Buffer | Reading[]): unknown {
  if (Buffer.isBuffer(answer)) return JSON.parse(answer.toString());
  const items = answer.map((r) => ({ ts: formatTs(r.ts), values: r.values }));
  return JSON.parse(JSON.stringify({ items, nextCursor: null }));
}
