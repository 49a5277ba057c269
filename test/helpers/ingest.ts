/**
 * Helpers for ingest tests: start the worker against a test broker and registry, read back points
 * from InfluxDB exactly (epoch ms, no client-side conversion), and wait for conditions.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { IngestConfig } from '../../core/config.js';
import type { InfluxConnection } from '../../core/influx/client.js';
import { telemetryTopic } from '../../core/topics.js';
import { type IngestDeps, type IngestHandle, startIngest } from '../../ingest/index.js';
import { SERVICE_SECRET, type TestRegistry } from './broker.js';
import { closeAfterTest } from './teardown.js';

export const ingestConfig = (overrides: Partial<IngestConfig> = {}): IngestConfig => ({
  batchSize: 5000,
  flushMs: 50,
  maxInFlight: 4,
  maxKeysPerReading: 256,
  maxKeysPerDevice: 1000,
  maxKeysPerPilot: 10_000,
  ...overrides,
});

export async function startTestIngest(
  reg: TestRegistry,
  mqttUrl: string,
  influx: InfluxDeps['influx'],
  overrides: Partial<IngestConfig> = {},
  deps: Partial<IngestDeps> = {},
): Promise<IngestHandle> {
  const ingest = await startIngest(
    {
      common: { dataDir: reg.dir, logLevel: 'silent', serviceSecret: SERVICE_SECRET },
      mqtt: { host: '127.0.0.1', port: 0, publicUrl: undefined },
      ingest: ingestConfig(overrides),
    },
    {
      registry: reg.registry,
      influx,
      serviceSecret: SERVICE_SECRET,
      mqttUrl,
      backoff: { baseMs: 50, capMs: 1000 },
      ...deps,
    },
  );
  return closeAfterTest(ingest);
}
type InfluxDeps = Pick<IngestDeps, 'influx'>;

/** Runs an InfluxQL query and returns the first statement's series (times in epoch ms). */
export async function influxQuery(
  conn: InfluxConnection,
  q: string,
): Promise<{ name: string; columns: string[]; values: unknown[][]; tags?: Record<string, string> }[]> {
  const url = `${conn.url}/query?db=${encodeURIComponent(conn.database)}&epoch=ms&q=${encodeURIComponent(q)}`;
  const res = await fetch(url);
  const body = (await res.json()) as {
    results: { series?: { name: string; columns: string[]; values: unknown[][] }[]; error?: string }[];
  };
  const first = body.results[0];
  if (first?.error) throw new Error(first.error);
  return first?.series ?? [];
}

/** Every point of a measurement as rows of {time, device, ...fields}. */
export async function pointsOf(
  conn: InfluxConnection,
  measurement: string,
): Promise<Record<string, unknown>[]> {
  const series = await influxQuery(conn, `SELECT * FROM "${measurement.replace(/"/g, '')}"`);
  return series.flatMap((s) =>
    s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]))),
  );
}

/** `SHOW FIELD KEYS` of a measurement: key -> float | boolean | string | integer. */
export async function fieldTypes(
  conn: InfluxConnection,
  measurement: string,
): Promise<Record<string, string>> {
  const series = await influxQuery(conn, `SHOW FIELD KEYS FROM "${measurement.replace(/"/g, '')}"`);
  return Object.fromEntries((series[0]?.values ?? []).map((r) => [String(r[0]), String(r[1])]));
}

/** Publishes QoS 1 and resolves on the PUBACK. */
export function publish1(client: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
  );
}

export interface FleetResult {
  /** `${deviceId}:${ts}` of every reading the broker acknowledged (PUBACK received). */
  acked: Set<string>;
  /** Publishes that failed (no PUBACK). Their readings are not in `acked`. */
  failed: number;
}

export interface FleetOptions {
  /** Sees the running total of acknowledged readings (to inject faults mid-stream). */
  onAck?: (total: number) => void;
  /** Most unacknowledged messages per device. Default 50. */
  window?: number;
  /** Messages per second per device; unlimited when unset. */
  ratePerDevice?: number;
  tsBase?: number;
  /**
   * Reconnect after the broker goes away (persistent session, clean: false): mqtt.js re-sends the
   * unacknowledged QoS 1 messages and their callbacks fire on the PUBACK after the reconnect.
   */
  reconnect?: boolean;
}

/**
 * Devices publishing `perDevice` QoS 1 readings each (`{ts, values: {n}}`, unique ts per device).
 * Counts PUBACKs: only acknowledged readings are in the result.
 */
export async function runFleet(
  mqttUrl: string,
  devices: { id: string; secret: string }[],
  perDevice: number,
  opts: FleetOptions = {},
): Promise<FleetResult> {
  const window = opts.window ?? 50;
  const tsBase = opts.tsBase ?? 1_700_000_000_000;
  const acked = new Set<string>();
  let failed = 0;
  await Promise.all(
    devices.map(async (d) => {
      const client = await mqtt.connectAsync(mqttUrl, {
        username: d.id,
        password: d.secret,
        clientId: d.id,
        ...(opts.reconnect ? { reconnectPeriod: 100, clean: false } : { reconnectPeriod: 0 }),
      });
      await publishReadings(client, d.id, perDevice, {
        window,
        tsBase,
        ratePerDevice: opts.ratePerDevice,
        onAck: recordAck(acked, d.id, opts.onAck),
        onError: () => failed++,
      });
      await client.endAsync();
    }),
  );
  return { acked, failed };
}

/** An `onAck` for publishReadings: adds `${deviceId}:${ts}` to `acked`, then tells the running total. */
export const recordAck =
  (acked: Set<string>, deviceId: string, onTotal?: (total: number) => void) => (ts: number) => {
    acked.add(`${deviceId}:${ts}`);
    onTotal?.(acked.size);
  };

/**
 * One device's `count` QoS 1 readings `{ts: tsBase + i, values: {n: i}}`, at most `window` unacknowledged,
 * paced to `ratePerDevice` messages per second when set; resolves once each has its PUBACK or error.
 */
export function publishReadings(
  client: MqttClient,
  deviceId: string,
  count: number,
  opts: {
    window: number;
    tsBase: number;
    ratePerDevice?: number | undefined;
    onAck: (ts: number) => void;
    onError?: () => void;
  },
): Promise<void> {
  const started = Date.now();
  let next = 0;
  let inFlight = 0;
  let waiting = false;
  return new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < opts.window && next < count) {
        if (opts.ratePerDevice) {
          const due = started + (next * 1000) / opts.ratePerDevice;
          if (due > Date.now()) {
            if (!waiting) {
              waiting = true;
              setTimeout(() => {
                waiting = false;
                pump();
              }, due - Date.now());
            }
            return;
          }
        }
        const i = next++;
        const ts = opts.tsBase + i;
        inFlight++;
        client.publish(
          telemetryTopic(deviceId),
          JSON.stringify({ ts, values: { n: i } }),
          { qos: 1 },
          (err) => {
            inFlight--;
            if (err) opts.onError?.();
            else opts.onAck(ts);
            if (next >= count && inFlight === 0) resolve();
            else pump();
          },
        );
      }
    };
    pump();
  });
}

/** Every (device, ts) stored in a measurement, as `${device}:${ts}`, and the point count. */
export async function storedKeys(
  conn: InfluxConnection,
  measurement: string,
): Promise<{ keys: Set<string>; points: number }> {
  const series = await influxQuery(conn, `SELECT "n", "device" FROM "${measurement.replace(/"/g, '')}"`);
  const keys = new Set<string>();
  let points = 0;
  for (const s of series) {
    const ti = s.columns.indexOf('time');
    const di = s.columns.indexOf('device');
    for (const row of s.values) {
      points++;
      keys.add(`${row[di]}:${row[ti]}`);
    }
  }
  return { keys, points };
}

export async function countPoints(conn: InfluxConnection, measurement: string): Promise<number> {
  const series = await influxQuery(conn, `SELECT COUNT("n") FROM "${measurement.replace(/"/g, '')}"`);
  return Number(series[0]?.values[0]?.[1] ?? 0);
}

/** Missing and unexpected keys between what was acknowledged and what is stored. */
export function compareSets(acked: Set<string>, stored: Set<string>): { missing: string[]; extra: string[] } {
  return {
    missing: [...acked].filter((k) => !stored.has(k)),
    extra: [...stored].filter((k) => !acked.has(k)),
  };
}
