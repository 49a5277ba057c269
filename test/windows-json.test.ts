/**
 * The windows JSON written from InfluxDB's bytes (api/telemetry/windows-json.ts) against the general
 * way (JSON.parse, windowsFromSeries, formatTs, JSON.stringify) on generated answers: when the fast
 * way answers, its bytes are the general way's; otherwise it returns undefined and the route parses.
 * Answers are written as InfluxDB 1.x writes them: Go's encoding/json formats floats as ES6 does, so
 * JSON.stringify stands in for it; the Go-only spellings (`-0`, int64 past 2^53) have their own cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowQuery } from '../api/telemetry/query.js';
import { windowsFromSeries } from '../api/telemetry/reader.js';
import { formatTs, writeTsAscii } from '../api/telemetry/time.js';
import { windowsJson } from '../api/telemetry/windows-json.js';
import type { InfluxSeries } from '../core/influx/influxql.js';
import { jsonCell, shapeOf, windowAnswer, windowQuery } from './helpers/window-answers.js';

function influxAnswer(series: InfluxSeries | undefined): Buffer {
  const result = series ? { statement_id: 0, series: [series] } : { statement_id: 0 };
  return Buffer.from(`${JSON.stringify({ results: [result] })}\n`);
}

/** What the route answers the general way. */
function general(body: Buffer, q: WindowQuery): string {
  const s = JSON.parse(body.toString()).results[0].series?.[0] as InfluxSeries | undefined;
  const items = windowsFromSeries(s, q).map((r) => ({ ts: formatTs(r.ts), values: r.values }));
  return JSON.stringify({ items, nextCursor: null });
}

const fast = (body: Buffer, q: WindowQuery) => windowsJson(body, shapeOf(q))?.toString();

describe('windows JSON from InfluxDB bytes', () => {
  it('writes exactly what the general way writes, on generated answers', () => {
    fc.assert(
      fc.property(windowAnswer(jsonCell), (a) => {
        const { query: q, columns, values } = a;
        const series = { name: 'plt_a', columns, values };
        const body = influxAnswer(a.noSeries || values.length === 0 ? undefined : series);
        const out = fast(body, q);
        expect(out).toBeDefined();
        expect(out).toBe(general(body, q));
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same values for what only Go writes: -0 and integers past 2^53', () => {
    const body = Buffer.from(
      '{"results":[{"statement_id":0,"series":[{"name":"p","columns":["time","a","b"],' +
        '"values":[[0,-0,12345678901234567890],[60000,-0.5,-9223372036854775808]]}]}]}\n',
    );
    const q = windowQuery('sum', ['a', 'b']);
    const out = fast(body, q);
    expect(out).toBeDefined();
    expect(JSON.parse(out!)).toEqual(JSON.parse(general(body, q)));
    expect(out).toContain('"a":0,'); // JSON.stringify(-0) is "0"
  });

  it('leaves every answer it does not write exactly to the general way', () => {
    const head = '{"results":[{"statement_id":0,"series":[{"name":"p","columns":["time","a"],"values":';
    const notPlain = [
      `${head}[[0,"text"]]}]}]}`, // strings (first/last of a string key)
      '{"results":[{"statement_id":0,"series":[{"name":"p","columns":["time","a\\u003cb"],"values":[[0,1]]}]}]}',
      '{"results":[{"statement_id":0,"error":"field type conflict"}]}',
      '{"error":"error parsing query"}',
      '{"results":[{"statement_id":0,"messages":[{"level":"warning","text":"x"}]}]}',
      '{"results":[{"statement_id":0,"series":[{"name":"p","tags":{"device":"d"},"columns":["time","a"],"values":[[0,1]]}]}]}',
      `${head}[[0,1]],"partial":true}]}]}`,
      `${head}[[0,1],[60000,2,3]]}]}]}`, // a row of the wrong width
      `${head}[[0.5,1]]}]}]}`, // a time that is not an integer
      `${head}[[0,01]]}]}]}`,
      `${head}[[0,1.]]}]}]}`,
      `${head}[[0,nul]]}]}]}`,
      `${head}[[0,1]]}]}]}x`,
      `${head}[[0,1]]}]}]`,
      '{"results":[{"statement_id":0,"series":[{"name":"p","columns":["time","time"],"values":[[0,1]]}]}]}',
    ];
    for (const text of notPlain) expect(fast(Buffer.from(text), windowQuery('mean', ['a']))).toBeUndefined();
  });

  it('writes times as Date#toISOString does, across days and years 1970-9999 and outside them', () => {
    const out = Buffer.alloc(64);
    // Mostly years 1970-9999 (the cached-day path), in runs of nearby times, and some anywhere.
    const instant = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 253_402_300_799_999 }), weight: 4 },
      { arbitrary: fc.integer({ min: -8.64e15, max: 8.64e15 }), weight: 1 },
    );
    const run = fc.tuple(instant, fc.array(fc.integer({ min: 0, max: 3 * 86_400_000 }), { maxLength: 8 }));
    fc.assert(
      fc.property(run, ([start, steps]) => {
        for (const ms of [start, ...steps.map((d) => start + d)].filter((t) => t <= 8.64e15)) {
          const end = writeTsAscii(out, 3, ms);
          expect(out.toString('latin1', 3, end)).toBe(new Date(ms).toISOString());
          expect(formatTs(ms)).toBe(new Date(ms).toISOString());
        }
      }),
      { numRuns: 2000 },
    );
  });
});
