/**
 * Child process: the latency probe. One device publishes a reading stamped with the current time
 * (QoS 1), then polls GET /v1/devices/{id}/telemetry/latest until that timestamp shows up: the
 * reading is then queryable through the API. One probe at a time, every `intervalMs`.
 */
import mqtt from 'mqtt';
import { childParams, onParent, stopOnParent, tell } from './procs.js';

interface Params {
  mqttUrl: string;
  apiUrl: string;
  apiKey: string;
  device: { id: string; password: string };
  durationMs: number;
  intervalMs: number;
  pollMs: number;
  timeoutMs: number;
}

const p = childParams<Params>();
const client = await mqtt.connectAsync(p.mqttUrl, {
  clientId: p.device.id,
  username: p.device.id,
  password: p.device.password,
  clean: false,
  reconnectPeriod: 0,
});
const topic = `devices/${p.device.id}/telemetry`;
const latestUrl = `${p.apiUrl}/v1/devices/${p.device.id}/telemetry/latest`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function queryable(ts: number): Promise<boolean> {
  const res = await fetch(latestUrl, { headers: { authorization: `Bearer ${p.apiKey}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${latestUrl}: ${res.status} ${text.slice(0, 200)}`);
  // The contract formats timestamps as RFC 3339 with milliseconds, UTC: what toISOString() gives.
  return text.includes(new Date(ts).toISOString());
}

onParent('go', async () => {
  const latencies: number[] = [];
  let acked = 0;
  let timeouts = 0;
  let lastError: string | undefined;
  const end = Date.now() + p.durationMs;
  for (let seq = 0; Date.now() < end; seq++) {
    const ts = Date.now();
    const next = ts + p.intervalMs;
    try {
      await client.publishAsync(topic, JSON.stringify({ ts, values: { probe: seq } }), { qos: 1 });
      acked++;
      let seen = false;
      while (!seen && Date.now() - ts < p.timeoutMs) {
        seen = await queryable(ts);
        if (!seen) await sleep(p.pollMs);
      }
      if (seen) latencies.push(Date.now() - ts);
      else timeouts++;
    } catch (err) {
      lastError = (err as Error).message;
      timeouts++;
      await sleep(p.pollMs);
    }
    await sleep(Math.max(0, next - Date.now()));
  }
  tell({ type: 'done', latencies, acked, timeouts, lastError });
});
stopOnParent(() => client.endAsync(true));
tell({ type: 'connected' });
