/**
 * The pure parts of ingest's hot path: line protocol text (ingest/points.ts) and the live fan-out
 * messages (ingest/fanout.ts). ingest-pipeline.test.ts covers both end to end with InfluxDB.
 */
import { describe, expect, it } from 'vitest';
import { MAX_TS_MS } from '../core/reading.js';
import { parseTelemetryPayload } from '../core/telemetry.js';
import { storedTopic } from '../core/topics.js';
import { storedMessages } from '../ingest/fanout.js';
import { type Point, timestampText, toPoint } from '../ingest/points.js';

const reading = (text: string) => {
  const r = parseTelemetryPayload(text, 1);
  expect(r.errors).toEqual([]);
  return r.readings;
};

describe('line protocol', () => {
  it('writes numbers as floats, booleans, quoted strings and the ms timestamp', () => {
    const [r] = reading('{"ts": 5, "values": {"t": 21, "x": 1e21, "ok": false, "s": "a \\"b\\" \\\\ c"}}');
    expect(toPoint('plt_a', 'dev_b', r as never).line).toBe(
      'plt_a,device=dev_b t=21,x=1e+21,ok=false,s="a \\"b\\" \\\\ c" 5',
    );
  });

  it('escapes the measurement and tag, also when a device comes back', () => {
    const [r] = reading('{"a": 1}');
    for (let i = 0; i < 2; i++) {
      expect(toPoint('p ,\\\nq', 'd =,\n', r as never).line).toBe(
        'p\\ \\,\\\\\\nq,device=d\\ \\=\\,\\n a=1 1',
      );
      // The same device id under another pilot is another series.
      expect(toPoint('other', 'd =,\n', r as never).line).toBe('other,device=d\\ \\=\\,\\n a=1 1');
    }
  });

  it('writes every timestamp as String(ts) would, across the 10^7 split', () => {
    const edges = [0, 1, 9_999_999, 10_000_000, 10_000_001, 10_000_010, 19_999_999, 1_763_000_000_007];
    for (const ts of [...edges, MAX_TS_MS, MAX_TS_MS - 1]) expect(timestampText(ts)).toBe(String(ts));
    for (let i = 0; i < 10_000; i++) {
      const ts = Math.floor(Math.random() * MAX_TS_MS);
      expect(timestampText(ts)).toBe(String(ts));
    }
    const [r] = reading('{"ts": 1763000000042, "values": {"a": 1}}');
    expect(toPoint('p', 'd', r as never).line).toBe('p,device=d a=1 1763000000042');
  });
});

describe('live fan-out', () => {
  const points = (pilotId: string, deviceId: string, text: string): Point[] =>
    reading(text).map((r) => toPoint(pilotId, deviceId, r));

  it('sends one JSON array of {ts, values} per device, in order of first appearance', () => {
    const all = [
      ...points(
        'p1',
        'd1',
        '[{"ts": 1, "values": {"a": 1}}, {"ts": "1970-01-01T00:00:00.002Z", "values": {"b": "x"}}]',
      ),
      ...points('p1', 'd2', '{"values": {"c": true}, "ts": 3}'),
      ...points('p1', 'd1', '{"d": 4}'),
      ...points('p2', 'd1', '{"e": 5}'), // the same id in another pilot stays apart
    ];
    expect(storedMessages(all)).toEqual([
      {
        topic: storedTopic('p1', 'd1'),
        payload: '[{"ts":1,"values":{"a":1}},{"ts":2,"values":{"b":"x"}},{"ts":1,"values":{"d":4}}]',
      },
      { topic: storedTopic('p1', 'd2'), payload: '[{"ts":3,"values":{"c":true}}]' },
      { topic: storedTopic('p2', 'd1'), payload: '[{"ts":1,"values":{"e":5}}]' },
    ]);
  });

  it('splits a device group into messages of at most `chunk` readings', () => {
    const all = points('p', 'd', JSON.stringify([1, 2, 3, 4, 5].map((ts) => ({ ts, values: { a: ts } }))));
    const messages = storedMessages(all, 2);
    expect(messages.map((m) => (JSON.parse(m.payload) as { ts: number }[]).map((r) => r.ts))).toEqual([
      [1, 2],
      [3, 4],
      [5],
    ]);
  });
});
