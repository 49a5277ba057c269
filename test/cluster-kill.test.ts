/**
 * Cluster fault test (issue 12): 3 broker nodes and 2 ingest workers as separate processes on a real
 * Redis, PostgreSQL and influxd; 100 devices spread over the nodes send 20,000 QoS 1 readings. One
 * broker node and one ingest worker are SIGKILLed mid-stream: the devices reconnect to the surviving
 * nodes, the surviving worker takes over the dead one's unacknowledged entries, and every acknowledged
 * (device, ts) is in InfluxDB exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { provisionCluster, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { runFailoverFleet } from './helpers/cluster-fleet.js';
import { compareSets, countPoints, storedKeys } from './helpers/ingest.js';
import { waitFor } from './helpers/poll.js';

const DEVICES = 100;
const PER_DEVICE = 200;
const TOTAL = DEVICES * PER_DEVICE;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ brokers: 3, ingests: 2, apis: 1 });
}, 180_000);
afterAll(() => cluster?.dispose(), 60_000);

it('loses and duplicates nothing when a broker node and an ingest worker are SIGKILLed', {
  timeout: 300_000,
}, async () => {
  const { pilotId, devices } = await provisionCluster(cluster, DEVICES);
  const redis = cluster.redis.client();
  let ackedSoFar = 0;
  let killedAt = 0;
  const killer = (async () => {
    await waitFor(() => ackedSoFar >= TOTAL * 0.3, 120_000, 5);
    await cluster.brokers[1]!.kill('SIGKILL');
    killedAt = Date.now();
    await waitFor(() => ackedSoFar >= TOTAL * 0.5, 120_000, 5);
    await cluster.ingests[0]!.kill('SIGKILL');
    return ackedSoFar;
  })();
  // About 3,000 readings/s over the cluster: the stream lasts ~7 s, so both kills land while it flows.
  const fleet = await runFailoverFleet(cluster.brokerPorts, devices, PER_DEVICE, {
    ratePerDevice: 30,
    onAck: (n) => {
      ackedSoFar = n;
    },
  });
  const ackedAtSecondKill = await killer;

  expect(fleet.acked.size).toBe(TOTAL);
  // Every device of the killed node still sending then reconnected to a surviving node.
  const dead = cluster.brokerPorts[1]!;
  const moved = [...fleet.devices.values()].filter((d) => d.startedOn === dead && d.finishedAt > killedAt);
  expect(moved.length).toBeGreaterThan(DEVICES / 6);
  expect(moved.filter((d) => d.connects < 2 || d.endedOn === dead)).toEqual([]);

  const counted = await waitFor(
    async () => (await countPoints(cluster.influx, pilotId)) >= TOTAL,
    120_000,
    250,
  );
  expect(counted).toBe(true);
  // Everything read was acknowledged: the stream is empty and nothing is pending in the group.
  await waitFor(async () => (await redis.xlen('telemetry:journal')) === 0, 60_000, 100);
  const pending = (await redis.xpending('telemetry:journal', 'ingest')) as [number, ...unknown[]];
  expect(pending[0]).toBe(0);
  const stored = await storedKeys(cluster.influx, pilotId);
  const diff = compareSets(fleet.acked, stored.keys);
  expect(diff.missing.slice(0, 10)).toEqual([]);
  expect(diff.extra.slice(0, 10)).toEqual([]);
  expect(stored.points).toBe(TOTAL);
  console.info(
    `cluster kill: ${fleet.acked.size} acknowledged, ${fleet.reconnects} reconnects, ` +
      `ingest worker killed at ${ackedAtSecondKill} acknowledged`,
  );
});
