/** The contract's payload rules (core/telemetry.ts), shared by MQTT ingest and HTTP ingest. */
import { describe, expect, it } from 'vitest';
import {
  parseTelemetryPayload as parse,
  parseTelemetryPayloadWithSchemas as parseWithSchemas,
  payloadPrefix,
} from '../core/telemetry.js';
import { parseRfc3339 } from '../core/time.js';

const RECEIVED = 1_732_240_000_999;

describe('shapes', () => {
  it('reads {ts, values}', () => {
    expect(
      parse('{"ts": 1732240000000, "values": {"temperature": 21.5, "door": "open", "ok": true}}', RECEIVED),
    ).toEqual({
      readings: [{ ts: 1_732_240_000_000, values: { temperature: 21.5, door: 'open', ok: true } }],
      errors: [],
    });
  });

  it('reads a batch, oldest first, with RFC 3339 and epoch ms times', () => {
    const r = parse(
      JSON.stringify([
        { ts: '2024-11-22T01:02:03.123456Z', values: { a: 1 } },
        { ts: '2024-11-22T03:02:03+02:00', values: { a: 2 } },
        { ts: 1_732_240_000_000, values: { a: 3 } },
      ]),
      RECEIVED,
    );
    expect(r.errors).toEqual([]);
    expect(r.readings.map((x) => x.ts)).toEqual([
      Date.parse('2024-11-22T01:02:03.123Z'),
      Date.parse('2024-11-22T01:02:03Z'),
      1_732_240_000_000,
    ]);
  });

  it('stamps a flat object with the receive time', () => {
    expect(parse(Buffer.from('{"temperature": 21.5, "ok": false}'), RECEIVED)).toEqual({
      readings: [{ ts: RECEIVED, values: { temperature: 21.5, ok: false } }],
      errors: [],
    });
  });

  it('treats an object as {ts, values} only when `values` is an object', () => {
    expect(parse('{"values": 3}', RECEIVED).readings).toEqual([{ ts: RECEIVED, values: { values: 3 } }]);
    expect(parse('{"values": {"a": 1}}', RECEIVED).errors[0]).toMatch(/^ts: expected epoch milliseconds/);
    expect(parse('{"values": {"a": 1}, "ts": 1, "extra": 2}', RECEIVED).errors[0]).toMatch(/extra/);
  });

  it('refuses ts inside a flat object instead of storing it as a value', () => {
    expect(parse('{"ts": 5, "a": 1}', RECEIVED)).toEqual({
      readings: [],
      errors: ['a flat object may not contain "ts": send {"ts": ..., "values": {...}} to set the time'],
    });
  });
});

describe('bad readings', () => {
  it('keeps the good readings of a batch and names each bad one', () => {
    const r = parse(
      JSON.stringify([
        { ts: 1, values: { a: 1 } },
        { ts: 2, values: { '9lives': 1 } },
        { ts: 3, values: { a: null } },
        { ts: 4, values: {} },
        { ts: 1.5, values: { a: 1 } },
        { ts: '2024-02-30T00:00:00Z', values: { a: 1 } },
        'not an object',
        { ts: 8, values: { ok: true } },
      ]),
      RECEIVED,
    );
    expect(r.readings.map((x) => x.ts)).toEqual([1, 8]);
    expect(r.errors).toHaveLength(6);
    expect(r.errors[0]).toMatch(/^reading 1: key "9lives": expected a letter/);
    expect(r.errors[1]).toMatch(/^reading 2: key "a": expected a finite number, boolean or string, got null/);
    expect(r.errors[2]).toMatch(/^reading 3: values: at least one key/);
    expect(r.errors[3]).toMatch(/^reading 4: ts:/);
    expect(r.errors[4]).toMatch(/^reading 5: ts:/);
    expect(r.errors[5]).toMatch(/^reading 6: /);
  });

  it('refuses reserved keys, long keys, non-finite numbers, nested values and long strings', () => {
    const cases: [string, RegExp][] = [
      ['{"time": 1}', /key "time" is reserved/],
      ['{"device": "x"}', /key "device" is reserved/],
      [JSON.stringify({ ['a'.repeat(65)]: 1 }), /at most 64 characters/],
      ['{"a": 1e999}', /got Infinity/],
      ['{"a": [1]}', /got an array/],
      ['{"a": {"b": 1}}', /got an object/],
      [JSON.stringify({ a: 'é'.repeat(40_000) }), /at most 65536 bytes/],
    ];
    for (const [payload, reason] of cases) {
      const r = parse(payload, RECEIVED);
      expect(r.readings, payload.slice(0, 40)).toEqual([]);
      expect(r.errors.join(' '), payload.slice(0, 40)).toMatch(reason);
    }
    expect(parse(JSON.stringify({ ['a'.repeat(64)]: 1, 'b_c.d-e': 'NaN' }), RECEIVED).errors).toEqual([]);
  });

  it('never throws on hostile input', () => {
    const hostile: (Buffer | string)[] = [
      Buffer.from([0xc3, 0x28]),
      Buffer.alloc(0),
      '',
      'nul\u0000',
      `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
      `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`,
      '[]',
      '[[]]',
      'null',
      'true',
      '12',
      '"x"',
      '{"__proto__": {"polluted": 1}}',
      '{"constructor": 1}',
    ];
    for (const payload of hostile) {
      const r = parse(payload, RECEIVED);
      expect(r.errors.length + r.readings.length, String(payload).slice(0, 20)).toBeGreaterThan(0);
    }
    expect(parse(Buffer.from([0xc3, 0x28]), RECEIVED).errors).toEqual(['payload is not valid UTF-8']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('helpers', () => {
  it('parses RFC 3339 strictly', () => {
    expect(parseRfc3339('2024-11-22T01:02:03Z')).toBe(Date.UTC(2024, 10, 22, 1, 2, 3));
    expect(parseRfc3339('2024-11-22 01:02:03.5-01:30')).toBe(Date.UTC(2024, 10, 22, 2, 32, 3, 500));
    for (const bad of [
      '2024-11-22',
      '2024-13-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-11-22T24:00:00Z',
      'x',
    ]) {
      expect(parseRfc3339(bad), bad).toBeUndefined();
    }
  });

  it('keeps a payload prefix of at most 200 bytes', () => {
    expect(Buffer.byteLength(payloadPrefix(Buffer.from('x'.repeat(1000))))).toBe(200);
    expect(payloadPrefix('{"a":1}')).toBe('{"a":1}');
  });
});

describe('fast path', () => {
  // parseTelemetryPayload validates the common shapes with plain code and leaves everything else to
  // the zod schemas; parseTelemetryPayloadWithSchemas uses the schemas only. Both must agree exactly,
  // readings (including key order) and error messages alike.
  const tsCandidates: unknown[] = [
    0,
    1,
    1_732_240_000_000,
    9_223_372_036_854,
    9_223_372_036_855,
    -1,
    1.5,
    -0,
    2 ** 53,
    '2024-11-22T01:02:03.123456Z',
    '2024-11-22 03:02:03+02:00',
    '2024-02-30T00:00:00Z',
    '2262-04-11T23:47:16.854Z',
    '2262-04-11T23:47:16.855Z',
    '1969-12-31T23:59:59Z',
    'yesterday',
    '',
    null,
    true,
    [1],
    { ms: 1 },
  ];
  const keyCandidates = [
    'a',
    'temperature',
    'b_c.d-e',
    'a'.repeat(64),
    'a'.repeat(65),
    '9lives',
    '_x',
    'time',
    'device',
    'Time',
    'constructor',
    'hasOwnProperty',
    'toString',
    'é',
    '',
    'a b',
    'ts',
    'values',
  ];
  const valueCandidates: unknown[] = [
    21.5,
    0,
    -0,
    1e308,
    -1e-300,
    true,
    false,
    'open',
    '',
    'NaN',
    '\ud800',
    'é'.repeat(32_768),
    'é'.repeat(32_769),
    '€'.repeat(21_845),
    '€'.repeat(21_846),
    null,
    [1],
    {},
    { b: 1 },
  ];
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed >>> 8) % n; // the low bits of this generator repeat quickly
  };
  const pick = <T>(xs: T[]): T => xs[rand(xs.length)] as T;
  const values = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const n = rand(10) === 0 ? 0 : 1 + rand(3);
    for (let i = 0; i < n; i++) {
      const key = rand(4) === 0 ? pick(keyCandidates) : pick(['a', 'temperature', 'humidity', 'door']);
      out[key] = rand(4) === 0 ? pick(valueCandidates) : rand(1000) / 8;
    }
    return out;
  };
  const reading = (): unknown => {
    const r = rand(20);
    if (r === 0) return pick(valueCandidates);
    if (r === 1) return { ts: pick(tsCandidates), values: values(), extra: 1 };
    if (r === 2) return { values: values() };
    if (r === 3) return { ts: pick(tsCandidates) };
    if (r === 4) return { ts: pick(tsCandidates), values: pick(valueCandidates) };
    if (r === 5) return { values: values(), ts: pick(tsCandidates) }; // keys in the other order
    return { ts: rand(2) === 0 ? pick(tsCandidates) : 1_732_240_000_000 + rand(1000), values: values() };
  };
  const corpus: string[] = [
    '{"ts": 1732240000000, "values": {"temperature": 21.5, "door": "open", "ok": true}}',
    '{"temperature": 21.5}',
    '{"values": 3}',
    '{"values": {"a": 1}}',
    '{"values": [1], "a": 2}',
    '{"values": null}',
    '{"ts": 5, "a": 1}',
    '{"a": 1e999}',
    '{"a": -1e999}',
    '{"__proto__": {"polluted": 1}}',
    '{"ts": 1, "values": {"__proto__": 1}}',
    '{"ts": 1, "values": {"a": 1}, "__proto__": {}}',
    '[{"ts": 1, "values": {"a": 1}, "__proto__": {"ts": 2}}]',
    '{"constructor": 1}',
    '{}',
    '[]',
    '[[]]',
    '[null]',
    'null',
    '12',
    '"x"',
    'not json',
    '\ufeff{"a": 1}',
    '',
  ];
  for (let i = 0; i < 1500; i++) {
    const shape = rand(3);
    if (shape === 0) corpus.push(JSON.stringify(reading()));
    else if (shape === 1) corpus.push(JSON.stringify(values()));
    else corpus.push(JSON.stringify(Array.from({ length: 1 + rand(8) }, reading)));
  }

  it('gives exactly the results of the zod schemas over a corpus of good and bad payloads', () => {
    let accepted = 0;
    let refusedCount = 0;
    for (const text of corpus) {
      for (const payload of [text, Buffer.from(text)]) {
        const fast = parse(payload, RECEIVED);
        const slow = parseWithSchemas(payload, RECEIVED);
        expect(fast, text.slice(0, 80)).toEqual(slow);
        expect(JSON.stringify(fast), text.slice(0, 80)).toBe(JSON.stringify(slow));
      }
      const r = parse(text, RECEIVED);
      accepted += r.readings.length;
      refusedCount += r.errors.length;
    }
    // The corpus exercises both sides, so the comparison means something.
    expect(accepted).toBeGreaterThan(1000);
    expect(refusedCount).toBeGreaterThan(1000);
  });

  it('agrees on invalid UTF-8 and a leading byte order mark', () => {
    for (const payload of [Buffer.from([0xc3, 0x28]), Buffer.from('\ufeff{"a": 1}')]) {
      expect(parse(payload, RECEIVED)).toEqual(parseWithSchemas(payload, RECEIVED));
    }
  });
});
