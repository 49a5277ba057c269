/** One ingest worker per test on a fresh registry, broker and database, with helpers to feed it. */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, expect } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { InfluxConnection } from '../../core/influx/client.js';
import { generateSecret, hashSecret } from '../../core/secrets.js';
import { SERVICE_USERNAMES, telemetryTopic } from '../../core/topics.js';
import type { IngestHandle } from '../../ingest/index.js';
import { connect, createTestRegistry, SERVICE_SECRET, startTestBroker, type TestRegistry } from './broker.js';
import { sharedInflux } from './influxd.js';
import { pointsOf, publish1, startTestIngest } from './ingest.js';
import { waitFor } from './poll.js';

export interface IngestFixture {
  reg: TestRegistry;
  broker: RunningBroker;
  influx: InfluxConnection;
  ingest: IngestHandle;
  /** Messages the test got a PUBACK for. */
  sent: number;
}

/** Registers beforeEach/afterEach in the calling file and returns the fixture and its helpers. */
export function useIngestFixture() {
  const f = { sent: 0 } as IngestFixture;
  const clients: MqttClient[] = [];
  beforeEach(async () => {
    f.sent = 0;
    f.reg = await createTestRegistry();
    f.broker = await startTestBroker(f.reg);
    f.influx = await sharedInflux();
    f.ingest = await startTestIngest(f.reg, f.broker.address.url, f.influx);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await f.ingest.close();
    await f.broker.close();
    await f.reg.close();
  });

  /** Counts a message the test got a PUBACK for. */
  const counted = async (p: Promise<void>) => {
    await p;
    f.sent++;
  };

  async function device(pilotId = f.reg.pilotId) {
    const secret = generateSecret();
    const d = await f.reg.registry.createDevice(pilotId, { name: 'd' }, hashSecret(secret));
    const client = await connect(f.broker.address.url, { username: d.id, password: secret, clientId: d.id });
    clients.push(client);
    const text = (payload: unknown) => (typeof payload === 'string' ? payload : JSON.stringify(payload));
    return {
      id: d.id,
      send: (payload: unknown) => counted(publish1(client, telemetryTopic(d.id), text(payload))),
      sendRaw: (payload: Buffer) => counted(publish1(client, telemetryTopic(d.id), payload)),
    };
  }

  async function serviceClient() {
    const client = await connect(f.broker.address.url, {
      username: SERVICE_USERNAMES.api,
      password: SERVICE_SECRET,
      clientId: `svc-api-test-${Math.random().toString(36).slice(2, 8)}`,
    });
    clients.push(client);
    return client;
  }

  async function newPilot() {
    const partner = await f.reg.registry.createPartner(
      { name: `p-${Math.random().toString(36).slice(2)}`, country: 'FR', kind: 'both' },
      hashSecret(generateSecret()),
    );
    return (await f.reg.registry.createPilot({ name: 'other', memberIds: [partner.id] })).id;
  }

  const errorsOf = async (deviceId: string) =>
    (await f.reg.registry.listDeviceErrors(deviceId, { limit: 100 })).items;
  const pointsFor = async (pilotId: string, deviceId: string) =>
    (await pointsOf(f.influx, pilotId)).filter((p) => p.device === deviceId);

  /** Waits until ingest took every message the test sent and stored or refused each. */
  async function drained() {
    const done = await waitFor(async () => {
      const s = await f.ingest.status();
      return s.messagesReceived === f.sent && s.messagesDone === f.sent;
    }, 10_000);
    expect(done, `ingest handled ${(await f.ingest.status()).messagesDone} of ${f.sent} messages`).toBe(true);
  }

  return { f, counted, device, serviceClient, newPilot, errorsOf, pointsFor, drained };
}
