/**
 * The MessagePack reader for InfluxDB answers (core/influx/msgpack.ts): it gives what JSON.parse
 * gives for the same value, in every form the spec allows; refuses what InfluxDB does not send; and
 * a refused `/query` in MessagePack still reports InfluxDB's words (a real influxd).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack, MsgpackError } from '../core/influx/msgpack.js';
import { influxQueryBody } from '../core/influx/query-http.js';
import { sharedInflux } from './helpers/influxd.js';
import { encodeMsgpack } from './helpers/msgpack-encode.js';

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    // -0 apart (below): JSON.stringify writes it as 0, so JSON.parse cannot be the reference for it.
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ minLength: 32, maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
  ),
})).value;

describe('MessagePack reader', () => {
  it('gives what JSON.parse gives for the same value, in every form', () => {
    fc.assert(
      fc.property(jsonValue, fc.infiniteStream(fc.boolean()), (value, wide) => {
        const it = wide[Symbol.iterator]();
        const packed = encodeMsgpack(value, { wide: () => it.next().value as boolean });
        expect(decodeMsgpack(packed)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('rounds int64 and uint64 past 2^53 as JSON.parse rounds their digits', () => {
    for (const n of [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 3n]) {
      const b = Buffer.alloc(9);
      b[0] = 0xd3;
      b.writeBigInt64BE(n, 1);
      expect(decodeMsgpack(b)).toBe(JSON.parse(n.toString()));
    }
    const u = Buffer.alloc(9);
    u[0] = 0xcf;
    u.writeBigUInt64BE(2n ** 64n - 1n, 1);
    expect(decodeMsgpack(u)).toBe(JSON.parse((2n ** 64n - 1n).toString()));
  });

  it('keeps -0, NaN and infinities as the float64 says', () => {
    expect(Object.is(decodeMsgpack(encodeMsgpack(-0)), -0)).toBe(true);
    expect(decodeMsgpack(encodeMsgpack([Number.NaN, Number.NEGATIVE_INFINITY]))).toEqual([
      Number.NaN,
      Number.NEGATIVE_INFINITY,
    ]);
  });

  it('keeps "__proto__" as an own key, as JSON.parse does', () => {
    const decoded = decodeMsgpack(encodeMsgpack(JSON.parse('{"__proto__":{"polluted":1}}'))) as object;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__']);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it('refuses truncated answers, trailing bytes, bin and ext', () => {
    const good = encodeMsgpack({ results: [{ statement_id: 0, series: [] }] });
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => decodeMsgpack(good.subarray(0, cut))).toThrow(MsgpackError);
    }
    expect(() => decodeMsgpack(Buffer.concat([good, Buffer.from([0xc0])]))).toThrow(/1 bytes after/);
    expect(() => decodeMsgpack(Buffer.from([0xc4, 1, 0]))).toThrow(/type 0xc4/); // bin 8
    expect(() => decodeMsgpack(Buffer.from([0xd6, 0xff, 0, 0, 0, 0]))).toThrow(/type 0xd6/); // timestamp ext
    expect(() => decodeMsgpack(Buffer.from([0x81, 0x01, 0xc0]))).toThrow(/not a string/);
  });

  it('reports a refused query in InfluxDB words when the answer is MessagePack', async () => {
    const influx = await sharedInflux();
    const query = influxQueryBody({ url: influx.url, headers: {}, timeoutMs: 10_000 });
    await expect(query({ db: influx.database, q: 'SELECT nope FROM' }, 'msgpack')).rejects.toThrow(
      /InfluxDB \/query answered 400: error parsing query: found EOF/,
    );
    const ok = await query({ db: influx.database, q: 'SHOW MEASUREMENTS' }, 'msgpack');
    expect(ok.format).toBe('msgpack');
    expect(decodeMsgpack(ok.body)).toEqual({ results: [{ statement_id: 0, series: [] }] });
  });
});
