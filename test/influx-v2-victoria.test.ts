/**
 * The v2 write path against a real server that speaks the InfluxDB v2 write API: Debian's
 * VictoriaMetrics (test/helpers/victoria.ts), behind the platform's official-client writer. What it
 * stored is read back through its export API: values, millisecond timestamps, tags. It offers only the
 * write API, so the platform also shows that such a server gets every reading while /readyz names the
 * missing query part. And VictoriaMetrics stopped mid-stream, then started again: nothing is lost.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryTopic } from '../core/topics.js';
import { publish1, runFleet } from './helpers/ingest.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';
import { measurementSelector, startVictoria, type Victoria } from './helpers/victoria.js';

let vm: Victoria;
let platform: TestPlatform;
beforeAll(async () => {
  vm = await startVictoria();
  platform = await startTestPlatform({
    INFLUX_URL: vm.url,
    INFLUX_TOKEN: 'any-token',
    INFLUX_ORG: 'acme',
    INFLUX_BUCKET: 'iot',
    INGEST_BATCH_SIZE: '500',
    // The outage test publishes faster than a real device may (over the limit: acknowledged, dropped).
    DEVICE_MAX_MESSAGES_PER_SECOND: '100000',
  });
});
afterAll(async () => {
  await platform?.dispose();
  await vm?.dispose();
});

/** `${device}:${ts}` of every sample of `metric` (one per point with that field). */
async function storedKeys(metric: string): Promise<{ keys: Set<string>; samples: number }> {
  const series = await vm.exportSeries(`{__name__="${metric}"}`);
  const keys = new Set<string>();
  let samples = 0;
  for (const s of series) {
    for (const ts of s.timestamps) {
      keys.add(`${s.metric.device}:${ts}`);
      samples++;
    }
  }
  return { keys, samples };
}

describe('v2 backend into VictoriaMetrics', () => {
  it('stores values, millisecond timestamps and the device tag; /readyz names the missing query part', async () => {
    const { pilotId, devices } = await provision(platform, 1, 'Victoria');
    const d = devices[0]!;
    const client = await mqtt.connectAsync(platform.mqttUrl, {
      clientId: d.deviceId,
      username: d.deviceId,
      password: d.password,
    });
    const t0 = Date.now() - 60_000;
    try {
      await publish1(
        client,
        telemetryTopic(d.deviceId),
        JSON.stringify([
          { ts: t0 + 1, values: { temperature: 21.5, on: true, note: 'kept as a string by InfluxDB' } },
          { ts: t0 + 2, values: { temperature: -3.25, on: false } },
          { ts: new Date(t0 + 3).toISOString(), values: { temperature: 1e6 } },
        ]),
      );
    } finally {
      await client.endAsync();
    }
    const series = await waitFor(async () => {
      const s = await vm.exportSeries(measurementSelector(pilotId));
      const temperature = s.find((x) => x.metric.__name__ === `${pilotId}_temperature`);
      return temperature?.values.length === 3 && s.some((x) => x.metric.__name__ === `${pilotId}_on`)
        ? s
        : undefined;
    }, 15_000);
    const byName = Object.fromEntries(series.map((s) => [s.metric.__name__, s]));
    expect(byName[`${pilotId}_temperature`]).toEqual({
      metric: { __name__: `${pilotId}_temperature`, device: d.deviceId },
      values: [21.5, -3.25, 1e6],
      timestamps: [t0 + 1, t0 + 2, t0 + 3],
    });
    // Booleans arrive as InfluxDB booleans; VictoriaMetrics keeps them as 1/0.
    expect(byName[`${pilotId}_on`]).toMatchObject({ values: [1, 0], timestamps: [t0 + 1, t0 + 2] });

    const ready = await platform.api('/readyz');
    expect(ready.status).toBe(503);
    const details = (
      (await ready.json()) as { error: { details: { failed: string[]; problems: Record<string, string> } } }
    ).error.details;
    expect(details.failed).toEqual(['influxdb-query']);
    expect(details.problems['influxdb-query']).toContain(
      'does not answer InfluxQL on /query: readings are stored',
    );
  });

  it('VictoriaMetrics stopped mid-stream and started again: every acknowledged reading is stored once', async () => {
    const { pilotId, devices } = await provision(platform, 4, 'Outage');
    let stopped: Promise<void> | undefined;
    const total = devices.length * 1500;
    const fleet = runFleet(
      platform.mqttUrl,
      devices.map((d) => ({ id: d.deviceId, secret: d.password })),
      1500,
      {
        tsBase: Date.now() - 120_000,
        ratePerDevice: 500,
        onAck: (n) => {
          if (n === Math.floor(total / 4)) stopped = vm.stop();
        },
      },
    );
    // Down for 3 s while the devices keep publishing (the broker keeps acknowledging into the journal).
    await waitFor(() => stopped !== undefined, 30_000);
    await stopped;
    await new Promise((r) => setTimeout(r, 3000));
    await vm.start();
    const { acked, failed } = await fleet;
    expect(failed).toBe(0);
    expect(acked.size).toBe(total);
    const stored = await waitFor(async () => {
      const s = await storedKeys(`${pilotId}_n`);
      return s.keys.size >= acked.size ? s : undefined;
    }, 30_000);
    const final = stored ?? (await storedKeys(`${pilotId}_n`));
    expect([...acked].filter((k) => !final.keys.has(k))).toEqual([]);
    expect(final.keys.size).toBe(acked.size);
    // One sample per point (dedup by series and millisecond, as InfluxDB keeps one point).
    expect(final.samples).toBe(acked.size);
    // The outage really hit the writer (it retried), it did not just fall between two writes.
    const metrics = await (await platform.api('/metrics')).text();
    expect(Number(/^ingest_write_retries_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });
});
