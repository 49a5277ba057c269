/**
 * Cluster outages (issue 12), with broker nodes, an ingest worker and an API replica as processes:
 * Redis SIGKILLed mid-stream and restarted from its append-only file loses nothing acknowledged (the
 * brokers hold PUBACKs and ingest waits meanwhile; nothing crashes); a PostgreSQL restart makes new
 * connects wait or get CONNACK 3, then work again, and loses nothing.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  type ClusterDevice,
  provisionCluster,
  startTestCluster,
  type TestCluster,
} from './helpers/cluster.js';
import { type FailoverFleetResult, runFailoverFleet } from './helpers/cluster-fleet.js';
import { compareSets, countPoints, storedKeys } from './helpers/ingest.js';
import { waitFor } from './helpers/poll.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ brokers: 2, ingests: 1, apis: 1, durablePostgres: true });
}, 180_000);
afterAll(() => cluster?.dispose(), 60_000);

/** Every acknowledged reading in InfluxDB exactly once, and the journal drained. */
async function expectStoredOnce(pilotId: string, fleet: FailoverFleetResult) {
  await waitFor(
    async () => (await countPoints(cluster.influx, pilotId)) >= fleet.acked.size,
    60_000,
    250,
  ).catch(async (err) => {
    const n = await countPoints(cluster.influx, pilotId);
    const xlen = await cluster.redis.client().xlen('telemetry:journal');
    throw new Error(
      `${err.message}: ${n} stored, ${xlen} in the journal; ingest:\n${cluster.ingests[0]!.output().slice(-4000)}`,
    );
  });
  const redis = cluster.redis.client();
  await waitFor(async () => (await redis.xlen('telemetry:journal')) === 0, 60_000, 100);
  const stored = await storedKeys(cluster.influx, pilotId);
  const diff = compareSets(fleet.acked, stored.keys);
  expect(diff.missing.slice(0, 10)).toEqual([]);
  expect(diff.extra.slice(0, 10)).toEqual([]);
  expect(stored.points).toBe(fleet.acked.size);
}

/** Every component process still runs and logged no crash. */
async function alive() {
  for (const p of [...cluster.brokers, ...cluster.ingests, ...cluster.apis]) {
    const exited = await Promise.race([p!.exited().then(() => true), Promise.resolve(false)]);
    if (exited || /uncaught|unhandled/i.test(p!.output())) return `${p!.name}:\n${p!.output().slice(-3000)}`;
  }
  return 'all alive';
}

describe('cluster outages', () => {
  it('Redis SIGKILLed mid-stream and restarted from its AOF: nothing acknowledged is lost', {
    timeout: 300_000,
  }, async () => {
    const { pilotId, devices } = await provisionCluster(cluster, 20);
    let acked = 0;
    const outage = (async () => {
      await waitFor(() => acked >= 1500, 120_000, 5);
      await cluster.redis.kill();
      const atKill = acked;
      await new Promise((r) => setTimeout(r, 2000));
      const duringOutage = acked - atKill;
      await cluster.redis.restart();
      return duringOutage;
    })();
    const fleet = await runFailoverFleet(cluster.brokerPorts, devices, 250, {
      ratePerDevice: 50,
      onAck: (n) => {
        acked = n;
      },
    });
    const duringOutage = await outage;
    expect(fleet.acked.size).toBe(20 * 250);
    // Appends wait for Redis: hardly anything is acknowledged while it is away (only what was in flight).
    expect(duringOutage).toBeLessThan(200);
    await expectStoredOnce(pilotId, fleet);
    expect(await alive()).toBe('all alive');
  });

  it('PostgreSQL restarted: connects wait or get CONNACK 3, then work again; nothing is lost', {
    timeout: 300_000,
  }, async () => {
    const { pilotId, devices } = await provisionCluster(cluster, 11);
    const [late, ...streaming] = devices as [ClusterDevice, ...ClusterDevice[]];
    let acked = 0;
    const outage = (async () => {
      await waitFor(() => acked >= 500, 120_000, 5);
      await cluster.postgres.stop();
      // A device never seen by the broker (no cached credential) connects while PostgreSQL is away.
      const attempt = await mqtt
        .connectAsync(cluster.mqttUrl(0), {
          username: late.id,
          password: late.secret,
          clientId: late.id,
          reconnectPeriod: 0,
          connectTimeout: 20_000,
        })
        .then(
          (c) => c.endAsync().then(() => 'connected'),
          (err: { code?: number }) => `refused ${err.code}`,
        );
      await cluster.postgres.restart();
      return attempt;
    })();
    const fleet = await runFailoverFleet(cluster.brokerPorts, streaming, 300, {
      ratePerDevice: 50,
      onAck: (n) => {
        acked = n;
      },
    });
    const attempt = await outage;
    expect(['connected', 'refused 3']).toContain(attempt);
    // Once PostgreSQL is back, the device gets in (the pool reconnects by itself).
    const client = await waitFor(
      () =>
        mqtt
          .connectAsync(cluster.mqttUrl(1), {
            username: late.id,
            password: late.secret,
            clientId: late.id,
            reconnectPeriod: 0,
          })
          .catch(() => undefined),
      30_000,
      500,
    );
    onTestFinished(() => client.endAsync(true));
    expect(fleet.acked.size).toBe(10 * 300);
    await expectStoredOnce(pilotId, fleet);
    expect(await alive()).toBe('all alive');
    console.info(`connect while PostgreSQL was down: ${attempt}`);
  });
});
