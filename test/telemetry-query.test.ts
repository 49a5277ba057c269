// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/** Telemetry reads through the API on a real InfluxDB: raw ranges, limits, windows, latest, pilot series. */
import { describe, expect, it } from 'vitest';
import type { WindowQuery } from '../api/telemetry/query.js';
import { TelemetryReader } from '../api/telemetry/reader.js';
import { formatTs } from '../api/telemetry/time.js';
import { d1Readings, iso, MIN, T0, useSeededTelemetry } from './helpers/telemetry-data.js';

const { f, get, range, dev } = useSeededTelemetry();

describe('raw ranges', () => {
  it('returns points with RFC 3339 ms timestamps and only the values each point has', async () => {
    const res = await get(`${dev()}?${range}&limit=3`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { ts: '2026-01-01T00:00:00.000Z', values: { temp: 0, door: 'open', ok: true } },
      { ts: '2026-01-01T00:00:10.000Z', values: { temp: 1 } },
      { ts: '2026-01-01T00:00:20.000Z', values: { temp: 2 } },
    ]);
    expect(typeof res.body.nextCursor).toBe('string');
  });

  it('defaults to the last 24 hours before now', async () => {
    const res = await get(`${dev()}?limit=10000`);
    expect(res.body.items).toHaveLength(61);
    expect(res.body.nextCursor).toBeNull();
  });

  it('accepts epoch ms, and `from` inclusive, `to` exclusive', async () => {
    const res = await get(`${dev()}?from=${T0 + 10_000}&to=${T0 + 30_000}&keys=temp`);
    expect(res.body.items.map((i: any) => i.values.temp)).toEqual([1, 2]);
  });

  it('selects keys and leaves out points without them', async () => {
    const res = await get(`${dev()}?${range}&keys=door`);
    expect(res.body.items).toHaveLength(10);
    expect(res.body.items[1]).toEqual({ ts: iso(T0 + MIN), values: { door: 'closed' } });
  });

  for (const order of ['asc', 'desc'] as const) {
    it(`pages ${order} without gaps or repeats`, async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await get(
          `${dev()}?${range}&limit=7&order=${order}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(7);
        seen.push(...res.body.items.map((i: any) => Date.parse(i.ts)));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 50);
      const expected = d1Readings()
        .map((r) => r.ts)
        .sort((a, b) => (order === 'asc' ? a - b : b - a));
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(61 / 7));
    });
  }

  it('refuses a cursor of the other order or a forged one', async () => {
    const first = await get(`${dev()}?${range}&limit=5`);
    const wrongOrder = await get(`${dev()}?${range}&limit=5&order=desc&cursor=${first.body.nextCursor}`);
    expect(wrongOrder.status).toBe(400);
    const forged = Buffer.from(JSON.stringify({ l: 'telemetry.asc', k: '0ms OR 1=1' })).toString('base64url');
    expect((await get(`${dev()}?${range}&cursor=${forged}`)).status).toBe(400);
  });
});

describe('limits', () => {
  it('limit is 1 to 10000, default 1000', async () => {
    expect((await get(`${dev()}?${range}&limit=10000`)).status).toBe(200);
    for (const bad of ['10001', '0', '-1', '1.5', '1e3', 'abc', '']) {
      const res = await get(`${dev()}?${range}&limit=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
  });

  it('refuses more than 10000 windows with a message naming the limit', async () => {
    const day = await get(`${dev()}?from=${T0}&to=${T0 + 86_400_000}&every=1s`);
    expect(day.status).toBe(400);
    expect(day.body.error.message).toContain('10000');
    expect(day.body.error.message).toContain('86400');
    // Exactly 10000 one-minute windows are fine, 10001 are not.
    expect((await get(`${dev()}?from=${T0}&to=${T0 + 10_000 * MIN}&every=1m`)).status).toBe(200);
    expect((await get(`${dev()}?from=${T0}&to=${T0 + 10_000 * MIN + 1}&every=1m`)).status).toBe(400);
  });

  it('refuses from after to, and impossible dates', async () => {
    expect((await get(`${dev()}?from=${T0 + 1}&to=${T0}`)).status).toBe(400);
    expect((await get(`${dev()}?from=2026-02-30T00:00:00Z`)).status).toBe(400);
    expect((await get(`${dev()}?from=2026-01-01T24:00:00Z`)).status).toBe(400);
    expect((await get(`${dev()}?from=2026-01-01`)).status).toBe(400);
  });

  it('accepts RFC 3339 offsets, also an unencoded + that arrived as a space', async () => {
    const a = await get(`${dev()}?from=2026-01-01T01:00:10%2B01:00&to=2026-01-01T01:00:30+01:00&keys=temp`);
    expect(a.status).toBe(200);
    expect(a.body.items.map((i: any) => i.values.temp)).toEqual([1, 2]);
  });
});

describe('aggregated windows', () => {
  const win = (q: string) => get(`${dev()}?${range}&keys=temp&every=1m&${q}`);
  const temps = (res: any) => res.body.items.map((i: any) => [Date.parse(i.ts), i.values.temp]);
  const minutes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const at = (m: number) => T0 + m * MIN;

  const expected: Record<string, (m: number) => number> = {
    mean: (m) => 6 * m + 2.5,
    min: (m) => 6 * m,
    max: (m) => 6 * m + 5,
    sum: (m) => 36 * m + 15,
    count: () => 6,
    first: (m) => 6 * m,
    last: (m) => 6 * m + 5,
  };
  // Minute 12 holds the single point 100.
  const lone: Record<string, number> = {
    mean: 100,
    min: 100,
    max: 100,
    sum: 100,
    count: 1,
    first: 100,
    last: 100,
  };

  for (const agg of Object.keys(expected)) {
    it(`${agg} with fill=none leaves empty windows out`, async () => {
      const res = await win(`agg=${agg}&fill=none`);
      expect(res.status).toBe(200);
      expect(temps(res)).toEqual([...minutes.map((m) => [at(m), expected[agg]!(m)]), [at(12), lone[agg]]]);
      expect(res.body.nextCursor).toBeNull();
    });
  }

  it('fill=null gives every window, empty ones null', async () => {
    const res = await win('agg=max&fill=null');
    expect(temps(res)).toEqual([
      ...minutes.map((m) => [at(m), 6 * m + 5]),
      [at(10), null],
      [at(11), null],
      [at(12), 100],
      [at(13), null],
      [at(14), null],
    ]);
  });

  it('fill=previous repeats the previous window', async () => {
    const res = await win('agg=mean&fill=previous');
    expect(temps(res)).toEqual([
      ...minutes.map((m) => [at(m), 6 * m + 2.5]),
      [at(10), 56.5],
      [at(11), 56.5],
      [at(12), 100],
      [at(13), 100],
      [at(14), 100],
    ]);
  });

  it('count with fill=null: an empty window counts 0 (InfluxDB fills count with 0)', async () => {
    const res = await win('agg=count&fill=null');
    expect(temps(res).slice(9, 13)).toEqual([
      [at(9), 6],
      [at(10), 0],
      [at(11), 0],
      [at(12), 1],
    ]);
  });

  it('defaults to agg=mean, fill=none, and supports order=desc', async () => {
    const res = await get(`${dev()}?${range}&keys=temp&every=5m&order=desc`);
    expect(temps(res)).toEqual([
      [at(10), 100],
      [at(5), (30 + 59) / 2],
      [at(0), (0 + 29) / 2],
    ]);
  });

  it('without keys: every key the device has, strings with first/last/count', async () => {
    const res = await get(`${dev()}?${range}&every=5m&agg=last`);
    expect(res.body.items[0]).toEqual({ ts: iso(T0), values: { door: 'open', ok: true, temp: 29 } });
    expect(res.body.items[1].values).toEqual({ door: 'closed', ok: null, temp: 59 });
    const mean = await get(`${dev()}?${range}&every=5m&agg=mean`);
    // mean(*) skips non-numeric keys
    expect(mean.body.items[0]).toEqual({ ts: iso(T0), values: { temp: 14.5 } });
  });

  it('writes plain answers straight from InfluxDB bytes, as the general way writes them', async () => {
    const reader = new TelemetryReader(f.influx);
    const base = { pilotId: f.pilotId, deviceId: f.d1.id, from: T0, to: T0 + 15 * MIN, everyMs: MIN };
    const cases: [WindowQuery, boolean][] = [
      [{ ...base, keys: ['temp'], agg: 'mean', fill: 'none', order: 'asc' }, true],
      [{ ...base, keys: ['temp'], agg: 'max', fill: 'null', order: 'desc' }, true],
      [{ ...base, keys: undefined, fields: ['temp', 'ok'], agg: 'count', fill: 'none', order: 'asc' }, true],
      [{ ...base, keys: undefined, agg: 'mean', fill: 'none', order: 'asc' }, true], // mean(*): mean_temp
      [{ ...base, keys: undefined, agg: 'last', fill: 'none', order: 'asc' }, false], // strings: parsed
    ];
    for (const [q, plain] of cases) {
      const answer = await reader.windowsJson(q);
      const general = (await reader.windows(q)).map((r) => ({ ts: formatTs(r.ts), values: r.values }));
      expect(general.length).toBeGreaterThan(0);
      expect(Buffer.isBuffer(answer)).toBe(plain);
      const items = Buffer.isBuffer(answer)
        ? JSON.parse(answer.toString()).items
        : answer.map((r) => ({ ts: formatTs(r.ts), values: r.values }));
      expect(items).toEqual(general);
    }
  });

  it('refuses number aggregates of string keys, and window options without every', async () => {
    const res = await get(`${dev()}?${range}&keys=door&every=1m&agg=mean`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('door');
    expect((await get(`${dev()}?${range}&agg=mean`)).status).toBe(400);
    expect((await get(`${dev()}?${range}&every=1m&limit=5`)).status).toBe(400);
  });
});

describe('latest', () => {
  it('gives each key its own last value and time', async () => {
    const res = await get(`${dev()}/latest`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      deviceId: f.d1.id,
      values: {
        temp: { ts: iso(T0 + 12 * MIN + 30_000), value: 100 },
        door: { ts: iso(T0 + 9 * MIN), value: 'closed' },
        ok: { ts: iso(T0), value: true },
      },
    });
    const some = await get(`${dev()}/latest?keys=ok,missing`);
    expect(some.body.values).toEqual({ ok: { ts: iso(T0), value: true } });
  });
});

describe('pilot series', () => {
  it('gives one series per device', async () => {
    const res = await get(`/v1/pilots/${f.pilotId}/telemetry?key=temp&every=5m&agg=max&${range}`);
    expect(res.status).toBe(200);
    const byDevice = Object.fromEntries(res.body.series.map((s: any) => [s.deviceId, s.points]));
    expect(Object.keys(byDevice).sort()).toEqual([f.d1.id, f.d2.id].sort());
    expect(byDevice[f.d1.id]).toEqual([
      { ts: iso(T0), value: 29 },
      { ts: iso(T0 + 5 * MIN), value: 59 },
      { ts: iso(T0 + 10 * MIN), value: 100 },
    ]);
    expect(byDevice[f.d2.id]).toEqual([
      { ts: iso(T0), value: 1004 },
      { ts: iso(T0 + 5 * MIN), value: 1009 },
    ]);
    expect(res.body).toMatchObject({ key: 'temp', agg: 'max', every: '5m', fill: 'none' });
  });

  it('needs key and every', async () => {
    expect((await get(`/v1/pilots/${f.pilotId}/telemetry?every=1m`)).status).toBe(400);
    expect((await get(`/v1/pilots/${f.pilotId}/telemetry?key=temp`)).status).toBe(400);
  });
});
