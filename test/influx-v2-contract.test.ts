/**
 * The contract suite for a real InfluxDB 2.x or 3.x (or Cloud): the telemetry round trip (write, raw,
 * windows, latest, a pilot's series) through the platform on the v2 API backend. It needs a server
 * this machine does not have (Debian ships none, npm neither), so it runs only when given one:
 *   INFLUX_V2_TEST_URL, INFLUX_V2_TEST_TOKEN, INFLUX_V2_TEST_ORG, INFLUX_V2_TEST_BUCKET
 * (the token needs write and read on the bucket; with DBRP management it maps the bucket itself).
 * Without them it is skipped, and the run's last lines say so (test/summary-reporter.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { telemetryRoundTrip } from './helpers/telemetry-roundtrip.js';

const VARIABLES = [
  'INFLUX_V2_TEST_URL',
  'INFLUX_V2_TEST_TOKEN',
  'INFLUX_V2_TEST_ORG',
  'INFLUX_V2_TEST_BUCKET',
];
const given = VARIABLES.every((v) => process.env[v]);

let platform: TestPlatform | undefined;
afterAll(async () => {
  await platform?.dispose();
});

describe.skipIf(!given)(
  `InfluxDB 2/3 contract suite (runs only when ${VARIABLES.join(', ')} are set)`,
  () => {
    it('runs the telemetry round trip: write, raw, windows, latest, pilot series', async () => {
      platform = await startTestPlatform({
        INFLUX_URL: process.env.INFLUX_V2_TEST_URL!,
        INFLUX_TOKEN: process.env.INFLUX_V2_TEST_TOKEN!,
        INFLUX_ORG: process.env.INFLUX_V2_TEST_ORG!,
        INFLUX_BUCKET: process.env.INFLUX_V2_TEST_BUCKET!,
        INFLUX_DATABASE: '',
      });
      await telemetryRoundTrip(platform);
      const ready = await platform.api('/readyz');
      expect(await ready.json()).toMatchObject({ status: 'ok' });
    }, 120_000);
  },
);
