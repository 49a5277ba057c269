/**
 * The whole platform on the v2 API backend, against a small real HTTP server that answers like
 * InfluxDB 2.x (test/helpers/v2-server.ts), through the real official client: refused points become
 * device errors, 413 splits, 429 waits for Retry-After, configuration faults (a wrong token, an unknown
 * bucket) show on /readyz, keep the backlog on disk, log once, and lose nothing once fixed; the DBRP
 * mapping is created when the token allows, and the exact command is given when it does not.
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { telemetryTopic } from '../core/topics.js';
import { publish1 } from './helpers/ingest.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';
import { pointKey, startV2Server, type V2Server } from './helpers/v2-server.js';

let server: V2Server | undefined;
let platform: TestPlatform | undefined;
const clients: mqtt.MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await platform?.dispose();
  await server?.close();
  platform = undefined;
  server = undefined;
});

async function start(env: Record<string, string> = {}, setup?: (s: V2Server) => void) {
  server = await startV2Server();
  setup?.(server);
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  platform = await startTestPlatform(
    {
      INFLUX_URL: server.url,
      INFLUX_TOKEN: server.token,
      INFLUX_ORG: server.org,
      INFLUX_BUCKET: server.bucket,
      ...env,
    },
    { logger },
  );
  const { devices, apiKey } = await provision(platform, 1);
  const device = devices[0]!;
  const client = await mqtt.connectAsync(platform.mqttUrl, {
    clientId: device.deviceId,
    username: device.deviceId,
    password: device.password,
    clean: false,
  });
  clients.push(client);
  const send = (readings: unknown) =>
    publish1(client, telemetryTopic(device.deviceId), JSON.stringify(readings));
  return { server, platform, logs, device, apiKey, send };
}

const T0 = Date.now() - 3_600_000;
const readings = (n: number, from = 0, value = (i: number) => 20 + i) =>
  Array.from({ length: n }, (_, i) => ({ ts: T0 + from + i, values: { temperature: value(from + i) } }));
const storedKeys = (s: V2Server) => new Set(s.stored.map(pointKey));

async function readyz(p: TestPlatform) {
  const res = await p.api('/readyz');
  return {
    status: res.status,
    body: (await res.json()) as { error?: { details?: Record<string, unknown> } },
  };
}

describe('v2 backend: refused data', () => {
  it('400 and 422 become device errors for exactly the refused readings; the rest is stored', async () => {
    const t = await start({}, (s) => {
      s.onWrite = (w) => {
        if (w.lines.some((l) => l.includes('temperature=666')))
          return { status: 400, body: { code: 'invalid', message: 'unable to parse: bad value 666' } };
        if (w.lines.some((l) => l.includes('temperature=777')))
          return {
            status: 422,
            body: { code: 'unprocessable entity', message: 'points beyond retention policy' },
          };
        return undefined;
      };
    });
    await t.send(readings(10, 0, (i) => (i === 3 ? 666 : i === 7 ? 777 : 20 + i)));
    await waitFor(async () => (storedKeys(t.server).size === 8 ? true : undefined), 10_000, '8 stored');
    const errors = await waitFor(async () => {
      const res = await t.platform.api(`/v1/devices/${t.device.deviceId}/errors`, { key: t.apiKey });
      const body = (await res.json()) as { items: { reason: string }[] };
      return body.items.length === 2 ? body.items : undefined;
    });
    const reasons = errors.map((e) => e.reason).join('\n');
    expect(reasons).toContain('unable to parse: bad value 666');
    expect(reasons).toContain('points beyond retention policy');
    expect([...storedKeys(t.server)].some((k) => k.endsWith(`@${T0 + 3}`))).toBe(false);
  });

  it('413 splits the batch: every reading is stored', async () => {
    const t = await start({}, (s) => {
      s.onWrite = (w) =>
        w.lines.join('\n').length > 2000 ? { status: 413, body: { code: 'too large' } } : undefined;
    });
    await t.send(readings(200));
    await waitFor(async () => (storedKeys(t.server).size === 200 ? true : undefined), 10_000, '200 stored');
    expect(t.server.writes.some((w) => w.lines.length > 1 && w.lines.join('\n').length > 2000)).toBe(true);
  });
});

describe('v2 backend: unavailable', () => {
  it('429 with Retry-After: the next attempt waits that long, and nothing is lost', async () => {
    let limited = 0;
    const t = await start({}, (s) => {
      s.onWrite = () =>
        limited++ === 0
          ? { status: 429, headers: { 'retry-after': '2' }, body: { code: 'too many requests' } }
          : undefined;
    });
    await t.send(readings(5));
    await waitFor(async () => (storedKeys(t.server).size === 5 ? true : undefined), 10_000, '5 stored');
    const [first, second] = t.server.writes;
    // Without Retry-After the first retry comes after 50-100 ms (ingest's backoff).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });
});

describe('v2 backend: configuration faults', () => {
  const faults: { name: string; env: Record<string, string>; names: string; fix: (s: V2Server) => void }[] = [
    {
      name: 'a wrong token',
      env: { INFLUX_TOKEN: 'wrong-token' },
      names: 'INFLUX_TOKEN',
      fix: (s: V2Server) => {
        s.token = 'wrong-token';
      },
    },
    {
      name: 'an unknown bucket',
      env: { INFLUX_BUCKET: 'nope' },
      names: 'INFLUX_BUCKET',
      fix: (s: V2Server) => {
        s.bucket = 'nope';
      },
    },
  ];
  for (const fault of faults) {
    it(`${fault.name}: /readyz says so, the backlog waits on disk, one log line, nothing lost once fixed`, async () => {
      const t = await start({ ...fault.env, INGEST_BATCH_SIZE: '5', INGEST_MAX_IN_FLIGHT: '4' });
      for (let i = 0; i < 6; i++) await t.send(readings(5, i * 5));
      const ready = await waitFor(async () => {
        const r = await readyz(t.platform);
        return r.status === 503 && ((r.body.error?.details?.failed ?? []) as string[]).includes('ingest')
          ? r
          : undefined;
      });
      const problems = ready.body.error?.details?.problems as Record<string, string>;
      expect(problems.ingest).toContain(fault.names);
      // Several batches keep retrying for a while; the log says it once.
      await new Promise((r) => setTimeout(r, 2500));
      const faultLines = t.logs.filter((l) => l.includes('InfluxDB refuses the configuration'));
      expect(faultLines).toHaveLength(1);
      expect(faultLines[0]).toContain(fault.names);
      const metrics = await (await t.platform.api('/metrics')).text();
      expect(Number(/^ingest_spool_messages (\d+)/m.exec(metrics)?.[1])).toBe(6);
      expect(t.server.stored).toHaveLength(0);
      fault.fix(t.server);
      await waitFor(async () => (storedKeys(t.server).size === 30 ? true : undefined), 15_000, '30 stored');
      expect(t.server.stored).toHaveLength(30);
      await waitFor(async () => {
        const r = await readyz(t.platform);
        return (r.body.error?.details?.failed as string[] | undefined)?.includes('ingest') ? undefined : true;
      });
      expect(t.logs.some((l) => l.includes('InfluxDB writes resumed'))).toBe(true);
    });
  }
});

describe('v2 backend: InfluxQL database mapping (DBRP)', () => {
  it('creates the mapping at start when it is missing and the token allows', async () => {
    const t = await start({ INFLUX_DATABASE: 'telemetry' }, (s) => {
      s.dbrp = { mode: 'api', mappings: [], allowCreate: true };
    });
    expect(t.server.dbrp).toMatchObject({
      mappings: [
        { org: 'acme', bucketID: 'b0001', database: 'telemetry', retention_policy: 'autogen', default: true },
      ],
    });
  });

  it('says exactly what to run when the token may not create it', async () => {
    const t = await start({ INFLUX_DATABASE: 'telemetry' }, (s) => {
      s.dbrp = { mode: 'api', mappings: [], allowCreate: false };
    });
    const command =
      'influx v1 dbrp create --org acme --bucket-id b0001 --db telemetry --rp autogen --default';
    expect(t.logs.some((l) => l.includes(command))).toBe(true);
    const r = await readyz(t.platform);
    expect(r.status).toBe(503);
    const problems = (r.body.error?.details?.problems ?? {}) as Record<string, string>;
    expect(problems['influxdb-query']).toContain(command);
    // Writes do not need the mapping.
    await t.send(readings(3));
    await waitFor(async () => (storedKeys(t.server).size === 3 ? true : undefined), 10_000, '3 stored');
  });
});
