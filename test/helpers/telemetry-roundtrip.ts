// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The telemetry round trip every InfluxDB backend must pass, through the whole platform: devices
 * publish over MQTT, then raw ranges (both orders, paged), windows, latest values and a pilot's
 * series come back through the API with exact values. Used against 1.x and the v2 backend (which must
 * answer the same) and, when configured, against a real InfluxDB 2 or 3 (test/influx-v2-contract.test.ts).
 */
import mqtt from 'mqtt';
import { expect } from 'vitest';
import { telemetryTopic } from '../../core/topics.js';
import { publish1 } from './ingest.js';
import { provision, type TestPlatform } from './platform.js';
import { waitFor } from './poll.js';

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Whole minutes, recent enough for any retention period. */
export const roundTripBase = () => Math.floor((Date.now() - 30 * MIN) / MIN) * MIN;

/**
 * Runs the round trip; returns the API's answers with ids replaced, for comparing backends (which
 * must share `base`, or a minute boundary between the two runs shifts every timestamp).
 */
export async function telemetryRoundTrip(platform: TestPlatform, base = roundTripBase()): Promise<unknown> {
  const { apiKey, pilotId, devices } = await provision(platform, 2, 'Round trip');
  const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
  const aReadings = Array.from({ length: 6 }, (_, i) => ({
    ts: base + i * 30_000,
    values: { temperature: 20 + i, door: i % 2 ? 'open' : 'closed', ok: i % 2 === 0 },
  }));
  const bReadings = [
    { ts: base, values: { temperature: 10 } },
    { ts: base + MIN, values: { temperature: 12 } },
  ];
  for (const [d, readings] of [
    [a, aReadings],
    [b, bReadings],
  ] as const) {
    const client = await mqtt.connectAsync(platform.mqttUrl, {
      clientId: d.deviceId,
      username: d.deviceId,
      password: d.password,
    });
    try {
      await publish1(client, telemetryTopic(d.deviceId), JSON.stringify(readings));
    } finally {
      await client.endAsync();
    }
  }
  const get = async (path: string) => {
    const res = await platform.api(path, { key: apiKey });
    expect(res.status, `${path}: ${res.status}`).toBe(200);
    return (await res.json()) as any;
  };
  const range = `from=${iso(base)}&to=${iso(base + 3 * MIN)}`;
  const dev = (d: { deviceId: string }) => `/v1/devices/${d.deviceId}/telemetry`;
  await waitFor(
    async () => {
      const [ra, rb] = [await get(`${dev(a)}?${range}`), await get(`${dev(b)}?${range}`)];
      return ra.items.length === 6 && rb.items.length === 2 ? true : undefined;
    },
    20_000,
    'the readings in the store',
  );

  const answers: Record<string, any> = {};
  answers.rawAsc = await get(`${dev(a)}?${range}`);
  expect(answers.rawAsc.items).toEqual(aReadings.map((r) => ({ ts: iso(r.ts), values: r.values })));
  answers.rawDescPage1 = await get(`${dev(a)}?${range}&order=desc&limit=4`);
  expect(answers.rawDescPage1.items.map((i: any) => i.values.temperature)).toEqual([25, 24, 23, 22]);
  answers.rawDescPage2 = await get(
    `${dev(a)}?${range}&order=desc&limit=4&cursor=${answers.rawDescPage1.nextCursor}`,
  );
  expect(answers.rawDescPage2.items.map((i: any) => i.values.temperature)).toEqual([21, 20]);
  expect(answers.rawDescPage2.nextCursor).toBeNull();
  answers.keys = await get(`${dev(a)}?${range}&keys=temperature,ok`);
  expect(answers.keys.items[1]).toEqual({ ts: iso(base + 30_000), values: { temperature: 21, ok: false } });

  answers.mean = await get(`${dev(a)}?${range}&every=1m&agg=mean&keys=temperature`);
  expect(answers.mean.items).toEqual(
    [0, 1, 2].map((m) => ({ ts: iso(base + m * MIN), values: { temperature: 20.5 + 2 * m } })),
  );
  answers.count = await get(`${dev(a)}?${range}&every=1m&agg=count`);
  expect(answers.count.items[0]).toEqual({ ts: iso(base), values: { temperature: 2, door: 2, ok: 2 } });
  answers.lastDesc = await get(`${dev(a)}?${range}&every=1m&agg=last&keys=door&order=desc`);
  expect(answers.lastDesc.items.map((i: any) => i.values.door)).toEqual(['open', 'open', 'open']);

  answers.latest = await get(`${dev(a)}/latest`);
  expect(answers.latest).toMatchObject({
    values: {
      temperature: { ts: iso(base + 150_000), value: 25 },
      door: { ts: iso(base + 150_000), value: 'open' },
      ok: { ts: iso(base + 150_000), value: false },
    },
  });
  answers.pilot = await get(`/v1/pilots/${pilotId}/telemetry?key=temperature&every=1m&agg=max&${range}`);
  const series = Object.fromEntries(
    answers.pilot.series.map((s: any) => [s.deviceId, s.points.map((p: any) => p.value)]),
  );
  expect(series).toEqual({ [a.deviceId]: [21, 23, 25], [b.deviceId]: [10, 12] });

  const normalized = JSON.parse(
    JSON.stringify(answers)
      .replaceAll(a.deviceId, '<device a>')
      .replaceAll(b.deviceId, '<device b>')
      .replaceAll(pilotId, '<pilot>')
      .replaceAll(String(base), '<base>'),
  );
  // Series come in device id order, and ids are random: order them by their new names.
  normalized.pilot.series.sort((x: any, y: any) => x.deviceId.localeCompare(y.deviceId));
  return normalized;
}
