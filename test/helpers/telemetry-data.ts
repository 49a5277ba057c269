/** One partner's telemetry of 2026-01-01, written once per test file, read through the API. */
import { afterAll, beforeAll } from 'vitest';
import { call } from './api-app.js';
import {
  startTelemetryFixture,
  type TelemetryFixture,
  type TestReading,
  writeReadings,
} from './telemetry.js';

export const T0 = Date.UTC(2026, 0, 1);
export const MIN = 60_000;
export const iso = (ms: number) => new Date(ms).toISOString();
/** A string that needs CSV quoting. */
export const TRICKY = 'a,"b"\nc';

/** d1: `temp` every 10 s for 10 min, `door` every minute, `ok` once, and one late reading. */
export function d1Readings(): TestReading[] {
  const out: TestReading[] = [];
  for (let i = 0; i < 60; i++) {
    const values: TestReading['values'] = { temp: i };
    if (i % 6 === 0) {
      const m = i / 6;
      values.door = m === 5 ? TRICKY : m % 2 === 0 ? 'open' : 'closed';
    }
    if (i === 0) values.ok = true;
    out.push({ ts: T0 + i * 10_000, values });
  }
  out.push({ ts: T0 + 12 * MIN + 30_000, values: { temp: 100 } });
  return out;
}

/** Registers beforeAll/afterAll in the calling file; `f` is filled once they ran. */
export function useSeededTelemetry() {
  const f = {} as TelemetryFixture;
  beforeAll(async () => {
    Object.assign(f, await startTelemetryFixture({ routes: { now: () => T0 + 15 * MIN } }));
    await writeReadings(f, f.pilotId, f.d1.id, d1Readings());
    const d2 = Array.from({ length: 10 }, (_, m) => ({ ts: T0 + m * MIN, values: { temp: 1000 + m } }));
    await writeReadings(f, f.pilotId, f.d2.id, d2);
    await writeReadings(f, f.outsiderPilotId, f.outsiderDeviceId, [{ ts: T0, values: { temp: -1 } }]);
  });
  afterAll(async () => f.close?.());
  const get = (url: string, key = f.key) => call(f.api.app, 'GET', url, key);
  return {
    f,
    get,
    range: `from=${iso(T0)}&to=${iso(T0 + 15 * MIN)}`,
    dev: () => `/v1/devices/${f.d1.id}/telemetry`,
  };
}
