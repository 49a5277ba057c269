/**
 * The drain is event-driven: the broker's commit wakes ingest, which writes what arrived as soon as no
 * write is in flight. With the flush interval and the fallback poll both at a minute, readings are
 * stored only if the wake-up works (the test waits 10 s at most).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import type { InfluxConnection } from '../core/influx/client.js';
import { telemetryTopic } from '../core/topics.js';
import type { IngestHandle } from '../ingest/index.js';
import { connect, createTestRegistry, startTestBroker, type TestRegistry } from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { pointsOf, publish1, startTestIngest } from './helpers/ingest.js';
import { waitFor } from './helpers/poll.js';

let reg: TestRegistry;
let broker: RunningBroker;
let influx: InfluxConnection;
let ingest: IngestHandle;

beforeEach(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg);
  influx = await sharedInflux();
  ingest = await startTestIngest(reg, broker.address.url, influx, { flushMs: 60_000 }, { pollMs: 60_000 });
});
afterEach(async () => {
  await ingest.close();
  await broker.close();
  await reg.close();
});

it('stores each reading without waiting for a timer', async () => {
  const d = await reg.addDevice();
  const client = await connect(broker.address.url, { username: d.id, password: d.secret, clientId: d.id });
  try {
    // One after another: each must be stored before the next is sent (a second write, after the
    // first returned, and a third after an idle moment).
    for (const ts of [1000, 2000, 3000]) {
      await publish1(client, telemetryTopic(d.id), JSON.stringify({ ts, values: { t: ts / 1000 } }));
      await waitFor(
        async () => (await pointsOf(influx, reg.pilotId)).some((p) => p.time === ts),
        10_000,
        `the reading at ${ts}`,
      );
      if (ts === 2000) await new Promise((r) => setTimeout(r, 300));
    }
    expect((await pointsOf(influx, reg.pilotId)).map((p) => p.t)).toEqual([1, 2, 3]);
  } finally {
    await client.endAsync(true);
  }
});
