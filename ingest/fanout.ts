/**
 * The live fan-out messages for a stored batch: per device, a JSON array of `{ts, values}` for
 * `$platform/stored/{pilotId}/{deviceId}` (read by the API's live feed, api/telemetry/live.ts).
 */
import type { Reading } from '../core/reading.js';
import { storedTopic } from '../core/topics.js';
import { type Point, pointReadings } from './points.js';

/** Live fan-out messages carry at most this many readings (stays well under broker payload limits). */
export const FANOUT_CHUNK = 500;

export interface StoredMessage {
  topic: string;
  payload: string;
}

/**
 * One message per device (per `chunk` readings), devices in order of first appearance. A reading is
 * serialised as it is: parseTelemetryPayload builds every reading as exactly `{ts, values}`.
 */
export function storedMessages(points: readonly Point[], chunk = FANOUT_CHUNK): StoredMessage[] {
  // Keyed by device id (a device belongs to one pilot), which needs no topic string per point; a
  // device id seen with a second pilot gets its own group under the topic as key.
  const groups = new Map<string, { pilotId: string; deviceId: string; readings: Reading[] }>();
  // The points of one message are adjacent and share the device: look the group up once per run.
  let run: { pilotId: string; deviceId: string; readings: Reading[] } | undefined;
  for (const p of points) {
    if (run === undefined || p.deviceId !== run.deviceId || p.pilotId !== run.pilotId) {
      let key = p.deviceId;
      run = groups.get(key);
      if (run !== undefined && run.pilotId !== p.pilotId) {
        key = storedTopic(p.pilotId, p.deviceId);
        run = groups.get(key);
      }
      if (run === undefined) {
        run = { pilotId: p.pilotId, deviceId: p.deviceId, readings: [] };
        groups.set(key, run);
      }
    }
    for (const r of pointReadings(p)) run.readings.push(r);
  }
  const out: StoredMessage[] = [];
  for (const { pilotId, deviceId, readings } of groups.values()) {
    const topic = storedTopic(pilotId, deviceId);
    if (readings.length <= chunk) out.push({ topic, payload: JSON.stringify(readings) });
    else {
      for (let i = 0; i < readings.length; i += chunk) {
        out.push({ topic, payload: JSON.stringify(readings.slice(i, i + chunk)) });
      }
    }
  }
  return out;
}
