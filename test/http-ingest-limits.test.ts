// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * HTTP ingest under limits, with our real broker (issue 11): over the device's own rate, 429 with
 * Retry-After (per authenticated device, not per IP); telemetry spool full, 503 with Retry-After at
 * once (no request waits for a held PUBACK); and every body answered 202 is in the spool.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpIngestRoutes } from '../api/routes/http-ingest.js';
import { createMqttIngestPublisher, type IngestPublisher } from '../api/telemetry/ingest-publisher.js';
import { connectServiceMqtt } from '../api/telemetry/live.js';
import type { RunningBroker } from '../broker/index.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import { httpIngestTopic } from '../core/topics.js';
import {
  createTestRegistry,
  journalRows,
  SERVICE_SECRET,
  startTestBroker,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';
import { startTelemetryFixture, type TelemetryFixture } from './helpers/telemetry.js';

const SPOOL_MAX = 5;
let reg: TestRegistry;
let broker: RunningBroker;
let apiMqtt: MqttClient;
let publisher: IngestPublisher;
let f: TelemetryFixture;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, {}, { spoolMaxMessages: SPOOL_MAX });
  apiMqtt = connectServiceMqtt({ url: broker.address.url, serviceSecret: SERVICE_SECRET });
  await new Promise<void>((resolve) => apiMqtt.once('connect', () => resolve()));
  publisher = createMqttIngestPublisher(apiMqtt, { timeoutMs: 5000 });
  f = await startTelemetryFixture({
    plugins: [httpIngestRoutes({ publisher, deviceRate: { perSecond: 2, burst: 3 } })],
  });
});
afterAll(async () => {
  await f?.close();
  await apiMqtt?.endAsync(true);
  await broker?.close();
  reg?.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const post = (device: { id: string; password: string }, body: string, password = device.password) =>
  f.api.app.inject({
    method: 'POST',
    url: `/v1/devices/${device.id}/telemetry`,
    headers: { 'content-type': 'application/json', authorization: basic(device.id, password) },
    payload: body,
  });
const spooled = () => journalRows(reg.dir).map((r) => r.payload.toString());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP ingest limits', () => {
  it("answers 429 with Retry-After over a device's own rate; other devices behind the same IP go on", async () => {
    // A burst of 3, then 2 per second, for d1 alone.
    for (let n = 0; n < 3; n++) expect((await post(f.d1, `{"r": ${n}}`)).statusCode).toBe(202);
    const over = await post(f.d1, '{"r": 3}');
    expect(over.statusCode).toBe(429);
    expect(over.json().error.code).toBe('rate_limited');
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Failed logins do not spend d1's budget, and d2 has its own.
    expect((await post(f.d1, '{"r": 9}', 'wrong')).statusCode).toBe(401);
    expect((await post(f.d2, '{"r": 0}')).statusCode).toBe(202);
    await sleep(600); // one token back for d1
    expect((await post(f.d1, '{"r": 4}')).statusCode).toBe(202);
    // Every 202 is in the spool; the 429'd body is not.
    expect(spooled()).toEqual(['{"r": 0}', '{"r": 1}', '{"r": 2}', '{"r": 0}', '{"r": 4}']);
  });

  it('answers 503 with Retry-After at once while the spool is full, and 202 again once drained', async () => {
    await sleep(1600); // d1's and d2's buckets refill
    // The previous test left 5 rows; one more passes the bound (the broker then holds telemetry).
    expect((await post(f.d2, '{"s": 1}')).statusCode).toBe(202);
    await waitFor(() => publisher.spoolFull(), 3000);
    const started = Date.now();
    const full = await post(f.d1, '{"s": 2}');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(full.statusCode).toBe(503);
    expect(full.json().error.code).toBe('unavailable');
    expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A request that raced the announcement is committed past the bound, not held: a held PUBACK
    // would stall the API's one broker connection (live streams too) until the spool drained.
    const raced = Date.now();
    await apiMqtt.publishAsync(httpIngestTopic(f.d1.id, raced), '{"s": "raced"}', { qos: 1 });
    expect(Date.now() - raced).toBeLessThan(1000);
    expect(spooled()).toContain('{"s": "raced"}');

    // Ingest drains the journal (here: acknowledges the entries as ingest does after storing them).
    const journal = openDataDirJournal(reg.dir);
    const entries = (await journal.read(100)).filter((r) => !r.payload.toString().includes('raced'));
    await journal.ack(entries.map((e) => e.id));
    await journal.close();
    await waitFor(() => !publisher.spoolFull(), 3000);
    expect((await post(f.d1, '{"s": 3}')).statusCode).toBe(202);
    expect(spooled()).toEqual(['{"s": "raced"}', '{"s": 3}']);
  });
});
