/**
 * The telemetry routes over a real API, a real SQLite registry and a fresh database on the run's
 * real influxd: one partner with a pilot of two devices, and an outsider partner with a pilot of its
 * own. Tests write known points straight into InfluxDB with node-influx, the way ingest stores them
 * (measurement = pilot id, tag device, ms timestamps) and record key types as ingest would.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { IPoint } from 'influx';
import type { ApiDeps } from '../../api/app.js';
import { type TelemetryRoutesDeps, telemetryRoutes } from '../../api/routes/telemetry.js';
import { createLocalLiveFeed, type LiveFeed } from '../../api/telemetry/live.js';
import type { InfluxConnection } from '../../core/influx/client.js';
import type { ValueType } from '../../core/registry/types.js';
import { createDevice, createPartner, createPilot, startTestApi, type TestApi } from './api-app.js';
import { sharedInflux } from './influxd.js';

export interface TelemetryFixture {
  api: TestApi;
  influx: InfluxConnection;
  feed: LiveFeed;
  key: string;
  pilotId: string;
  d1: { id: string; password: string };
  d2: { id: string; password: string };
  outsiderKey: string;
  outsiderPilotId: string;
  outsiderDeviceId: string;
  close(): Promise<void>;
}

export async function startTelemetryFixture(
  opts: {
    feed?: LiveFeed;
    routes?: Partial<TelemetryRoutesDeps>;
    plugins?: FastifyPluginAsync[];
    deps?: Partial<ApiDeps>;
  } = {},
): Promise<TelemetryFixture> {
  const influx = await sharedInflux();
  const feed = opts.feed ?? createLocalLiveFeed();
  const api = await startTestApi({
    plugins: [telemetryRoutes({ influx, liveFeed: feed, ...opts.routes }), ...(opts.plugins ?? [])],
    deps: opts.deps,
  });
  const partner = await createPartner(api, 'Maker');
  const pilot = await createPilot(api, partner.apiKey, 'Boilers');
  const d1 = await createDevice(api, partner.apiKey, pilot.id, 'one');
  const d2 = await createDevice(api, partner.apiKey, pilot.id, 'two');
  const outsider = await createPartner(api, 'Outsider');
  const outsiderPilot = await createPilot(api, outsider.apiKey, 'Elsewhere');
  const outsiderDevice = await createDevice(api, outsider.apiKey, outsiderPilot.id, 'three');
  return {
    api,
    influx,
    feed,
    key: partner.apiKey,
    pilotId: pilot.id,
    d1: { id: d1.id, password: d1.credentials.password },
    d2: { id: d2.id, password: d2.credentials.password },
    outsiderKey: outsider.apiKey,
    outsiderPilotId: outsiderPilot.id,
    outsiderDeviceId: outsiderDevice.id,
    async close() {
      await api.close();
      await influx.client.dropDatabase(influx.database);
    },
  };
}

export type TestReading = { ts: number; values: Record<string, number | boolean | string> };

/** Stores readings the way ingest does, and claims their key types and device keys in the registry. */
export async function writeReadings(
  f: TelemetryFixture,
  pilotId: string,
  deviceId: string,
  readings: TestReading[],
): Promise<void> {
  const points: IPoint[] = readings.map((r) => ({
    measurement: pilotId,
    tags: { device: deviceId },
    fields: r.values,
    timestamp: r.ts,
  }));
  await f.influx.client.writePoints(points, { precision: 'ms' });
  const types = new Map<string, ValueType>();
  for (const r of readings) {
    for (const [k, v] of Object.entries(r.values)) types.set(k, typeof v as ValueType);
  }
  await f.api.registry.claimKeyTypes(pilotId, types);
  await f.api.registry.claimDeviceKeys(pilotId, deviceId, types, { perDevice: 1000, perPilot: 10_000 });
}
