/**
 * The read path on the v2 API backend: InfluxQL on the v1-compatible `/query`, sent with
 * `Authorization: Token`. The v2 server here is a façade over the run's real InfluxDB 1.x
 * (test/helpers/v2-server.ts), so both backends answer from real InfluxQL: the same round trip runs
 * on the 1.x backend and on the v2 backend, and every telemetry route answers the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedInflux, uniqueDatabase } from './helpers/influxd.js';
import { startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { roundTripBase, telemetryRoundTrip } from './helpers/telemetry-roundtrip.js';
import { startV2Server, type V2Server } from './helpers/v2-server.js';

let v1: TestPlatform;
let v2: TestPlatform;
let facade: V2Server;
beforeAll(async () => {
  const store = await sharedInflux(uniqueDatabase('v2read'));
  facade = await startV2Server({ influx1: { url: store.url, database: store.database } });
  v1 = await startTestPlatform();
  v2 = await startTestPlatform({
    INFLUX_URL: facade.url,
    INFLUX_TOKEN: facade.token,
    INFLUX_ORG: facade.org,
    INFLUX_BUCKET: facade.bucket,
    INFLUX_DATABASE: store.database,
  });
});
afterAll(async () => {
  await v1?.dispose();
  await v2?.dispose();
  await facade?.close();
});

describe('v2 backend: reads', () => {
  it('every telemetry route answers the same on the v2 backend as on 1.x', async () => {
    const base = roundTripBase();
    const onV1 = await telemetryRoundTrip(v1, base);
    const onV2 = await telemetryRoundTrip(v2, base);
    expect(onV2).toEqual(onV1);
    // Readings went through /api/v2/write, not around it.
    expect(facade.stored.length).toBe(8);
  });

  it('sends the token on every query, and the server refuses queries without it', async () => {
    expect(facade.queryAuthorizations.length).toBeGreaterThan(5);
    expect(new Set(facade.queryAuthorizations)).toEqual(new Set([`Token ${facade.token}`]));
    const anonymous = await fetch(`${facade.url}/query?db=x&q=${encodeURIComponent('SHOW MEASUREMENTS')}`);
    expect(anonymous.status).toBe(401);
  });

  it('is ready when the server answers writes and InfluxQL', async () => {
    const res = await v2.api('/readyz');
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: ['registry', 'influxdb', 'influxdb-query', 'ingest'],
    });
  });
});
