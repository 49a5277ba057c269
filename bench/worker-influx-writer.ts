/**
 * Child process: the batched baseline. Writes exactly the points the batched MQTT load carries
 * (same devices, timestamps, values, in the order the messages go out) straight to InfluxDB with
 * node-influx `writePoints`: `pointsPerWrite` points per request, `inFlight` requests at a time,
 * precision 'ms'. Reports when the last write was answered.
 */
import { readFileSync } from 'node:fs';
import { InfluxDB, type IPoint } from 'influx';
import { childParams, onParent, tell } from './procs.js';
import { reading } from './readings.js';

interface Params {
  influxUrl: string;
  database: string;
  measurement: string;
  devicesFile: string;
  messagesPerDevice: number;
  readingsPerMessage: number;
  pointsPerWrite: number;
  inFlight: number;
  t0: number;
}

const p = childParams<Params>();
const devices = (JSON.parse(readFileSync(p.devicesFile, 'utf8')) as { id: string }[]).map((d) => d.id);
const u = new URL(p.influxUrl);
const influx = new InfluxDB({ host: u.hostname, port: Number(u.port), database: p.database });

/** Batches of points: messages round-robin over devices, each message `readingsPerMessage` readings. */
function* batches(): Generator<IPoint[]> {
  let batch: IPoint[] = [];
  for (let m = 0; m < p.messagesPerDevice; m++) {
    for (const device of devices) {
      for (let i = 0; i < p.readingsPerMessage; i++) {
        const r = reading(p.t0, m * p.readingsPerMessage + i);
        batch.push({ measurement: p.measurement, tags: { device }, fields: r.values, timestamp: r.ts });
        if (batch.length === p.pointsPerWrite) {
          yield batch;
          batch = [];
        }
      }
    }
  }
  if (batch.length > 0) yield batch;
}

onParent('go', async () => {
  const startAt = Date.now();
  const source = batches();
  let points = 0;
  let failed = 0;
  const writer = async () => {
    for (let next = source.next(); !next.done; next = source.next()) {
      try {
        await influx.writePoints(next.value, { precision: 'ms', database: p.database });
        points += next.value.length;
      } catch (err) {
        failed += next.value.length;
        process.stderr.write(`write failed: ${(err as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: p.inFlight }, writer));
  tell({ type: 'done', points, failed, startAt, endAt: Date.now() });
});
onParent('stop', () => process.exit(0));
tell({ type: 'ready' });
