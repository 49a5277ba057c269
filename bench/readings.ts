/**
 * The readings every load carries, shared by the MQTT load generator and the raw InfluxDB writer so
 * both baselines handle exactly the same points. Reading `seq` of a device has timestamp `t0 + seq`
 * (ms): unique per device, so InfluxDB keeps every point (same series and time would merge) and the
 * stored count must equal what was sent.
 */
export interface BenchReading {
  ts: number;
  values: { temperature: number; humidity: number };
}

export function reading(t0: number, seq: number): BenchReading {
  return { ts: t0 + seq, values: { temperature: 20 + (seq % 100) / 10, humidity: 40 + (seq % 37) / 2 } };
}

/** The MQTT payload for readings `seq .. seq+count-1`: one object, or an array (a batch). */
export function payload(t0: number, seq: number, count: number): string {
  if (count === 1) return JSON.stringify(reading(t0, seq));
  const batch: BenchReading[] = [];
  for (let i = 0; i < count; i++) batch.push(reading(t0, seq + i));
  return JSON.stringify(batch);
}

/** A start time well in the past: readings never collide with the probe's or the clock's. */
export const defaultT0 = () => Date.now() - 7 * 86_400_000;
