/** The ingest worker on a real broker, journal and InfluxDB: payload shapes, hostile payloads, key types. */
import { describe, expect, it } from 'vitest';
import { fieldTypes } from './helpers/ingest.js';
import { useIngestFixture } from './helpers/ingest-fixture.js';
import { waitFor } from './helpers/poll.js';

const { f, device, newPilot, errorsOf, pointsFor, drained } = useIngestFixture();

describe('payload shapes', () => {
  it('stores {ts, values}, a batch and a flat object with the right times and field types', async () => {
    const d = await device();
    const before = Date.now();
    await d.send({ ts: 1_732_240_000_000, values: { temperature: 21.5, door: 'open', ok: true } });
    await d.send([
      { ts: '2024-11-22T01:00:00.000Z', values: { temperature: 21 } },
      { ts: 1_732_237_200_500, values: { temperature: 22.25 } },
    ]);
    await d.send({ temperature: 23 });
    const points = await waitFor(async () => {
      const p = await pointsFor(f.reg.pilotId, d.id);
      // Complete rows only: InfluxDB 1.6 can answer `SELECT *` before a new shard's field set lists
      // every field of a point it already returns (seen once under a loaded CI machine).
      const complete = p.length === 4 && p.some((row) => row.door === 'open' && row.ok === true);
      return complete ? p : undefined;
    });
    expect(
      points,
      `stored: ${JSON.stringify(await pointsFor(f.reg.pilotId, d.id))}, errors: ${JSON.stringify(await errorsOf(d.id))}`,
    ).toBeDefined();
    const byTime = new Map(points!.map((p) => [p.time as number, p]));
    expect(byTime.get(1_732_240_000_000)).toMatchObject({ temperature: 21.5, door: 'open', ok: true });
    expect(byTime.get(Date.parse('2024-11-22T01:00:00.000Z'))).toMatchObject({ temperature: 21 });
    expect(byTime.get(1_732_237_200_500)).toMatchObject({ temperature: 22.25 });
    const flat = points!.find((p) => p.temperature === 23);
    // Stamped with the broker's receive time.
    expect(flat?.time as number).toBeGreaterThanOrEqual(before);
    expect(flat?.time as number).toBeLessThanOrEqual(Date.now());
    // 21 after 21.5 is still a float: no type conflict.
    expect(await fieldTypes(f.influx, f.reg.pilotId)).toEqual({
      temperature: 'float',
      door: 'string',
      ok: 'boolean',
    });
    expect(await errorsOf(d.id)).toEqual([]);
  });

  it('stores the good readings of a batch and records the bad ones as device errors', async () => {
    const d = await device();
    await d.send([
      { ts: 1000, values: { a: 1 } },
      { ts: 2000, values: { a: 'NaN-as-string-is-fine-for-a-new-key', '1bad': 2 } },
      { ts: 3000, values: { time: 5 } },
      { ts: -5, values: { a: 3 } },
      { ts: 4000, values: { a: 4, nested: { x: 1 } } },
      { ts: 5000, values: { a: 5 } },
    ]);
    await drained();
    const points = await pointsFor(f.reg.pilotId, d.id);
    expect(points.map((p) => [p.time, p.a])).toEqual([
      [1000, 1],
      [5000, 5],
    ]);
    const reasons = (await errorsOf(d.id)).map((e) => e.reason);
    expect(reasons).toHaveLength(4);
    expect(reasons.join('\n')).toMatch(/reading 1: key "1bad"/);
    expect(reasons.join('\n')).toMatch(/reading 2: key "time" is reserved/);
    expect(reasons.join('\n')).toMatch(/reading 3: ts:/);
    expect(reasons.join('\n')).toMatch(/reading 4: key "nested"/);
    expect((await errorsOf(d.id))[0]?.payloadPrefix.startsWith('[{"ts":1000')).toBe(true);
  });
});

describe('hostile payloads never crash or stall the worker', () => {
  it('refuses each as a device error and keeps storing the next valid message', async () => {
    const d = await device();
    const hostile: Buffer[] = [
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]), // invalid UTF-8
      Buffer.from('not json at all'),
      Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), // deeply nested
      Buffer.from(JSON.stringify({ s: 'x'.repeat(70 * 1024) })), // string over InfluxDB's limit
      Buffer.from('{"a": 1e999}'), // Infinity
      Buffer.from('{"ts": 5, "a": 1}'), // flat with ts
      Buffer.from('[]'),
      Buffer.from('null'),
      Buffer.from('"NaN"'),
      Buffer.from(JSON.stringify({ ['k'.repeat(65)]: 1 })),
      Buffer.from(JSON.stringify({ device: 'spoof' })),
      Buffer.from(JSON.stringify({ ts: 1, values: { a: 1 }, extra: true })),
      Buffer.from(''),
    ];
    for (const payload of hostile) await d.sendRaw(payload);
    await d.send({ ts: 42, values: { fine: 1 } });
    const points = await waitFor(async () => {
      const p = await pointsFor(f.reg.pilotId, d.id);
      return p.length > 0 ? p : undefined;
    });
    expect(points?.map((p) => [p.time, p.fine])).toEqual([[42, 1]]);
    await drained();
    const reasons = (await errorsOf(d.id)).map((e) => e.reason);
    expect(reasons).toHaveLength(hostile.length);
    expect(reasons).toContain('payload is not valid UTF-8');
    expect(reasons.some((r) => /at most 65536 bytes/.test(r))).toBe(true);
    expect(reasons.some((r) => /key "device" is reserved/.test(r))).toBe(true);
    for (const e of await errorsOf(d.id))
      expect(Buffer.byteLength(e.payloadPrefix)).toBeLessThanOrEqual(200 * 3);
    expect((await f.ingest.status()).influxHealthy).toBe(true);
  });
});

describe('key types', () => {
  it('refuses a value of another type from the same device, naming the key and both types', async () => {
    const d = await device();
    await d.send({ ts: 1, values: { temperature: 20 } });
    await drained();
    await d.send({ ts: 2, values: { temperature: 'hot', other: 1 } });
    await d.send({ ts: 3, values: { temperature: 21 } });
    await drained();
    expect((await pointsFor(f.reg.pilotId, d.id)).map((p) => p.time)).toEqual([1, 3]);
    const [error] = await errorsOf(d.id);
    expect(error?.reason).toBe('key "temperature" is a number in this pilot, got a string');
    expect(error?.payloadPrefix).toContain('"hot"');
  });

  it('applies between devices of one pilot, also inside one batch', async () => {
    const a = await device();
    const b = await device();
    await a.send({ ts: 10, values: { mode: 'eco' } });
    await drained();
    await b.send({ ts: 11, values: { mode: 3 } });
    await b.send({ ts: 12, values: { mode: 'boost' } });
    // A new key whose first value in the batch decides its type.
    await b.send([
      { ts: 13, values: { level: 1 } },
      { ts: 14, values: { level: 'high' } },
    ]);
    await drained();
    expect((await pointsFor(f.reg.pilotId, b.id)).map((p) => [p.time, p.mode ?? p.level])).toEqual([
      [12, 'boost'],
      [13, 1],
    ]);
    expect((await errorsOf(b.id)).map((e) => e.reason)).toEqual([
      'reading at ts 14: key "level" is a number in this pilot, got a string',
      'key "mode" is a string in this pilot, got a number',
    ]);
    expect(await errorsOf(a.id)).toEqual([]);
  });

  it('never lets one pilot block another: a string in pilot A, numbers in pilot B', async () => {
    const pilotB = await newPilot();
    const a = await device();
    const b = await device(pilotB);
    await a.send({ ts: 100, values: { temperature: 'hot' } });
    await drained();
    await b.send({ ts: 100, values: { temperature: 21.5 } });
    await b.send({ ts: 200, values: { temperature: 22 } });
    await drained();
    expect((await pointsFor(pilotB, b.id)).map((p) => p.temperature)).toEqual([21.5, 22]);
    expect((await pointsFor(f.reg.pilotId, a.id)).map((p) => p.temperature)).toEqual(['hot']);
    expect(await fieldTypes(f.influx, f.reg.pilotId)).toEqual({ temperature: 'string' });
    expect(await fieldTypes(f.influx, pilotB)).toEqual({ temperature: 'float' });
    expect(await errorsOf(b.id)).toEqual([]);
  });
});
