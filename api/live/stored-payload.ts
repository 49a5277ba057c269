/** What ingest publishes per stored batch: a JSON array of `{ts, values}` (ingest/fanout.ts). */
import type { TelemetryValue as Value } from '../../core/reading.js';
import type { LiveReading } from './hub.js';

/** Read leniently: bad entries are skipped, never thrown. */
export function parseStoredPayload(payload: Buffer | string): LiveReading[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const out: LiveReading[] = [];
  for (const item of parsed) {
    if (typeof item !== 'object' || item === null) continue;
    const { ts, values } = item as { ts?: unknown; values?: unknown };
    const ms = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    if (!Number.isFinite(ms) || typeof values !== 'object' || values === null || Array.isArray(values))
      continue;
    out.push({ ts: Math.trunc(ms), values: values as Record<string, Value> });
  }
  return out;
}
