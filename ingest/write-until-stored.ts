/**
 * Writes points until InfluxDB stored them; returns those it refuses for good. A refused request is
 * split in halves until each refused point stands alone (writing a point again is idempotent); other
 * failures are retried with backoff, at least the server's Retry-After, until stopped.
 */
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from './backoff.js';
import type { IngestMetrics } from './metrics.js';
import { type Point, splitPoint } from './points.js';
import type { WriteFaults } from './write-faults.js';
import { type PointWriter, WriteRefusedError, WriteUnavailableError } from './writer.js';

export const ABORTED = Symbol('aborted');
export type Refused = { point: Point; reason: string };

export interface WriteDeps {
  writer: PointWriter;
  metrics: Pick<IngestMetrics, 'writeRetries' | 'writeDuration'>;
  faults: WriteFaults;
  backoff?: BackoffOptions | undefined;
  /** Aborted when ingest stops: the points stay in the journal for the next start. */
  signal: AbortSignal;
}

export async function writeUntilStored(
  points: Point[],
  deps: WriteDeps,
): Promise<Refused[] | typeof ABORTED> {
  let attempt = 0;
  while (!deps.signal.aborted) {
    const timer = deps.metrics.writeDuration.startTimer();
    try {
      await deps.writer.write(
        points.map((p) => p.line),
        deps.signal,
      );
      timer({ outcome: 'stored' });
      deps.faults.succeeded();
      return [];
    } catch (err) {
      timer({ outcome: err instanceof WriteRefusedError ? 'refused' : 'failed' });
      if (err instanceof WriteRefusedError) {
        deps.faults.succeeded();
        if (points.length > 1) return splitAndWrite(points, deps);
        const only = points[0] as Point;
        // A message of the fast path holds several lines: find which of them is refused.
        return only.count === 1
          ? [{ point: only, reason: err.reason }]
          : splitAndWrite(splitPoint(only), deps);
      }
      if (deps.signal.aborted) break;
      deps.metrics.writeRetries.inc();
      // Unavailable or misconfigured: the data waits; a server's Retry-After is a minimum (429, 503).
      const retryAfter = err instanceof WriteUnavailableError ? (err.retryAfterMs ?? 0) : 0;
      const delay = Math.max(backoffDelay(attempt++, deps.backoff ?? DEFAULT_BACKOFF), retryAfter);
      deps.faults.failed(err as Error, delay);
      await sleep(delay, deps.signal);
    }
  }
  return ABORTED;
}

async function splitAndWrite(points: Point[], deps: WriteDeps): Promise<Refused[] | typeof ABORTED> {
  const mid = points.length >>> 1;
  const left = await writeUntilStored(points.slice(0, mid), deps);
  if (left === ABORTED) return ABORTED;
  const right = await writeUntilStored(points.slice(mid), deps);
  if (right === ABORTED) return ABORTED;
  return [...left, ...right];
}
