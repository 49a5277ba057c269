/**
 * Child process: the batched-v2 baseline. Writes exactly the points the batched MQTT load carries
 * (same devices, timestamps, values, in the order the messages go out) straight to a v2 write API
 * with the official client (@influxdata/influxdb-client) as its README shows: Points, a WriteApi with
 * millisecond precision and its default gzip, `pointsPerWrite` points per request, `inFlight`
 * requests at a time (one WriteApi each, flushed per batch). Reports when the last write was answered.
 */
import { readFileSync } from 'node:fs';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { childParams, onParent, tell } from './procs.js';
import { reading } from './readings.js';

interface Params {
  url: string;
  token: string;
  org: string;
  bucket: string;
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
const client = new InfluxDB({ url: p.url, token: p.token, timeout: 30_000 });

/** Batches of points: messages round-robin over devices, each message `readingsPerMessage` readings. */
function* batches(): Generator<Point[]> {
  let batch: Point[] = [];
  for (let m = 0; m < p.messagesPerDevice; m++) {
    for (const device of devices) {
      for (let i = 0; i < p.readingsPerMessage; i++) {
        const r = reading(p.t0, m * p.readingsPerMessage + i);
        batch.push(
          new Point(p.measurement)
            .tag('device', device)
            .floatField('temperature', r.values.temperature)
            .floatField('humidity', r.values.humidity)
            .timestamp(r.ts),
        );
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
    // flush() sends the batch: batchSize above it, no timer, so each request is one awaited batch.
    const api = client.getWriteApi(p.org, p.bucket, 'ms', {
      batchSize: p.pointsPerWrite + 1,
      flushInterval: 0,
    });
    for (let next = source.next(); !next.done; next = source.next()) {
      try {
        api.writePoints(next.value);
        await api.flush();
        points += next.value.length;
      } catch (err) {
        failed += next.value.length;
        process.stderr.write(`write failed: ${(err as Error).message}\n`);
      }
    }
    await api.close();
  };
  await Promise.all(Array.from({ length: p.inFlight }, writer));
  tell({ type: 'done', points, failed, startAt, endAt: Date.now() });
});
onParent('stop', () => process.exit(0));
tell({ type: 'ready' });
