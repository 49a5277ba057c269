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
import type { InfluxQLResponse, InfluxSeries } from '../core/influx/influxql.js';
import { decodeMsgpack } from '../core/influx/msgpack.js';
import { influxQueryBody } from '../core/influx/query-http.js';
import { sharedInflux } from './helpers/influxd.js';
import { encodeMsgpack } from './helpers/msgpack-encode.js';
import { type Agg, jsonCell, shapeOf, windowAnswer, windowQuery } from './helpers/window-answers.js';

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

// MessagePack also carries what JSON cannot: NaN and infinities (a sum past the largest double).
const cell = fc.oneof(
  { weight: 12, arbitrary: jsonCell },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53 + 2, -(2 ** 63), 2 ** 64 - 2 ** 12) },
  { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NaN) },
);
const generated = fc.tuple(windowAnswer(cell), fc.infiniteStream(fc.boolean()), fc.boolean());

describe('windows JSON from InfluxDB MessagePack', () => {
  it('writes exactly what the general way writes, and what the JSON transcoder writes', () => {
    fc.assert(
      fc.property(generated, ([a, wideForms, floats]) => {
        const { query: q, columns, values } = a;
        const answer = answerOf(
          a.noSeries || values.length === 0 ? undefined : { name: 'plt_a', columns, values },
        );
        const wide = wideForms[Symbol.iterator]();
        const body = encodeMsgpack(answer, {
          wide: () => wide.next().value as boolean,
          // InfluxDB writes a float field's integral values as float64 too.
          isFloat: (n) => !Number.isSafeInteger(n) || Object.is(n, -0) || floats,
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
    for (const answer of notPlain)
      expect(fast(encodeMsgpack(answer), windowQuery('mean', ['a']))).toBeUndefined();
    const plain = encodeMsgpack(answerOf(series({})));
    expect(fast(plain, windowQuery('mean', ['a']))).toBe(
      '{"items":[{"ts":"1970-01-01T00:00:00.000Z","values":{"a":1}}],"nextCursor":null}',
    );
    expect(fast(plain.subarray(0, plain.length - 1), windowQuery('mean', ['a']))).toBeUndefined(); // truncated
    expect(fast(Buffer.concat([plain, Buffer.from([0xc0])]), windowQuery('mean', ['a']))).toBeUndefined(); // trailing
    // Every truncation, inside a name or a number too, goes to the general way (which reports it).
    for (let cut = 0; cut < plain.length; cut++) {
      expect(fast(plain.subarray(0, cut), windowQuery('mean', ['a']))).toBeUndefined();
    }
    // A name that is not valid UTF-8: the general way decodes it to U+FFFD, so it is not copied.
    const badName = Buffer.from(encodeMsgpack(answerOf(series({ columns: ['time', 'aé'] }))));
    badName[badName.indexOf(Buffer.from('aé')) + 1] = 0xff;
    expect(fast(badName, windowQuery('mean', ['a']))).toBeUndefined();
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
        const q = { ...windowQuery(agg, keys), from: T, to: T + 600_000 };
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
