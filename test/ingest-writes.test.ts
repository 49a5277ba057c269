/** The ingest worker on a real broker, journal and InfluxDB: refused writes, exactly once, the live fan-out. */
import { describe, expect, it } from 'vitest';
import { httpIngestTopic, liveInterestTopic, STORED_TOPIC_FILTER } from '../core/topics.js';
import { publish1 } from './helpers/ingest.js';
import { useIngestFixture } from './helpers/ingest-fixture.js';
import { waitFor } from './helpers/poll.js';

const { f, counted, device, serviceClient, errorsOf, pointsFor, drained } = useIngestFixture();

describe('refused writes', () => {
  it('isolates a point InfluxDB refuses, stores the rest of the batch and records the refused one', async () => {
    const d = await device();
    // Data the registry does not know about (e.g. written before, or by another tool) makes
    // InfluxDB refuse a number for `legacy`, although the registry accepts it.
    const res = await fetch(`${f.influx.url}/write?db=${f.influx.database}&precision=ms`, {
      method: 'POST',
      body: `${f.reg.pilotId},device=old legacy="text" 1`,
    });
    expect(res.status).toBe(204);
    await d.send([
      { ts: 1000, values: { good: 1 } },
      { ts: 2000, values: { good: 2, legacy: 5 } },
      { ts: 3000, values: { good: 3 } },
    ]);
    await drained();
    expect((await pointsFor(f.reg.pilotId, d.id)).map((p) => [p.time, p.good])).toEqual([
      [1000, 1],
      [3000, 3],
    ]);
    const [error] = await errorsOf(d.id);
    expect(error?.reason).toMatch(/InfluxDB refused the reading at ts 2000: .*field type conflict/);
    expect((await f.ingest.status()).influxHealthy).toBe(true);
  });

  it('finds the refused line in a message of known keys (one point of several lines)', async () => {
    const d = await device();
    const res = await fetch(`${f.influx.url}/write?db=${f.influx.database}&precision=ms`, {
      method: 'POST',
      body: `${f.reg.pilotId},device=old legacy="text" 1`,
    });
    expect(res.status).toBe(204);
    // The first message claims `good` and `legacy`; the second, with known keys only, is scanned
    // straight into line protocol as one point of three lines (ingest/line-scan.ts).
    await d.send([
      { ts: 1000, values: { good: 1 } },
      { ts: 1500, values: { good: 1.5, legacy: 4 } },
    ]);
    await drained();
    await d.send([
      { ts: 2000, values: { good: 2 } },
      { ts: 2500, values: { good: 2.5, legacy: 5 } },
      { ts: 3000, values: { good: 3 } },
    ]);
    await drained();
    expect((await pointsFor(f.reg.pilotId, d.id)).map((p) => [p.time, p.good])).toEqual([
      [1000, 1],
      [2000, 2],
      [3000, 3],
    ]);
    const reasons = (await errorsOf(d.id)).map((e) => e.reason).sort();
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/InfluxDB refused the reading at ts 1500: .*field type conflict/);
    expect(reasons[1]).toMatch(/InfluxDB refused the reading at ts 2500: .*field type conflict/);
  });
});

describe('exactly once', () => {
  it('stores a message delivered three times once', async () => {
    const d = await device();
    const svc = await serviceClient();
    // A redelivery reaches ingest on the same topic (same broker receive stamp) with the same payload.
    const topic = httpIngestTopic(d.id, 1_732_240_000_123);
    for (let i = 0; i < 3; i++) await counted(publish1(svc, topic, JSON.stringify({ temperature: 20.5 })));
    // And a device re-sending its own {ts, values} batch three times.
    for (let i = 0; i < 3; i++)
      await d.send([
        { ts: 5, values: { x: 1 } },
        { ts: 6, values: { x: 2 } },
      ]);
    await drained();
    const points = await pointsFor(f.reg.pilotId, d.id);
    expect(points.map((p) => p.time)).toEqual([5, 6, 1_732_240_000_123]);
    expect(points.find((p) => p.time === 1_732_240_000_123)?.temperature).toBe(20.5);
  });

  it('records a message for an unknown device as a device error', async () => {
    const svc = await serviceClient();
    await counted(publish1(svc, httpIngestTopic('dev_unknown', 1), '{"a":1}'));
    await drained();
    expect((await errorsOf('dev_unknown')).map((e) => e.reason)).toEqual([
      'unknown device: it is not in the registry',
    ]);
  });
});

describe('live fan-out', () => {
  it('publishes the stored readings someone watches on $platform/stored/{pilotId}/{deviceId}', async () => {
    const watched = await device();
    const unwatched = await device();
    const svc = await serviceClient();
    await svc.subscribeAsync(STORED_TOPIC_FILTER, { qos: 0 });
    const got: { topic: string; body: unknown }[] = [];
    svc.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));

    // Nobody watches yet: stored, but not fanned out.
    await unwatched.send([{ ts: 1, values: { a: 1 } }]);
    await drained();
    // An API process's streams watch one device (a retained live interest, as api/telemetry/live.ts sends).
    await svc.publishAsync(liveInterestTopic('test'), JSON.stringify({ pilots: [], devices: [watched.id] }), {
      qos: 1,
      retain: true,
    });
    await waitFor(async () => {
      await watched.send([{ ts: 100 + got.length, values: { probe: 1 } }]);
      return got.length > 0;
    });
    await unwatched.send([{ ts: 2, values: { a: 2 } }]);
    await watched.send([
      { ts: 1, values: { a: 1 } },
      { ts: 2, values: { a: 'wrong type' } },
    ]);
    // A fan-out message carries a device's readings of one write batch: leave the probes out of it.
    const notProbes = () =>
      got
        .map((g) => ({
          topic: g.topic,
          body: (g.body as { values: object }[]).filter((r) => !('probe' in r.values)),
        }))
        .filter((g) => g.body.length > 0);
    await waitFor(() => notProbes().length > 0);
    await drained();
    expect(notProbes()).toEqual([
      { topic: `$platform/stored/${f.reg.pilotId}/${watched.id}`, body: [{ ts: 1, values: { a: 1 } }] },
    ]);
    await svc.publishAsync(liveInterestTopic('test'), '', { qos: 1, retain: true });
  });
});
