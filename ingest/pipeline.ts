/**
 * The drain loop: journal -> batches -> InfluxDB -> acknowledge -> live fan-out. Each entry belongs to
 * one batch; a batch is acknowledged only once all its points are stored or refused for good, so a
 * crash re-writes what was not acknowledged, idempotently. Why: docs/DESIGN.md, "Stored exactly once".
 */

import type { JournalConsumer, JournalEntry } from '../core/journal/types.js';
import type { KeyLimits } from '../core/key-limits.js';
import type { Logger } from '../core/log.js';
import type { DeviceErrorLog, DeviceLookup, KeyTypeStore } from '../core/registry/types.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from './backoff.js';
import { type Batch, convertMessage, type DeviceErrorInput, newBatch } from './batch.js';
import { DrainWake } from './drain-wake.js';
import { KeyTypeChecker } from './key-types.js';
import type { IngestMetrics } from './metrics.js';
import { lineCount, type Point, pointReadings, storedPoints } from './points.js';
import { WriteFaults } from './write-faults.js';
import { ABORTED, type WriteDeps, writeUntilStored } from './write-until-stored.js';
import type { PointWriter } from './writer.js';

export interface PipelineOptions {
  batchSize: number;
  /**
   * Once caught up, a partial batch is written as soon as no write is in flight; while writes are in
   * flight it waits for one to return, or at most this long.
   */
  flushMs: number;
  maxInFlight: number;
  /**
   * At most this many journal entries per read (default 1000). A query asks for about one batch's worth
   * of rows, by the readings per message seen in the previous chunk, but never for more than this.
   */
  readChunk?: number;
  /**
   * A partial batch waits until this long after the previous write started (default 20 ms): under
   * load, fewer and larger writes (InfluxDB and the journal pay per request); idle, no wait at all.
   */
  minWriteGapMs?: number;
  /**
   * How long to wait before looking for new rows once caught up, when nothing wakes the loop earlier;
   * default 1 s with a journal that can be watched (a safety net), else `flushMs`.
   */
  pollMs?: number;
  /** Entries another consumer left unacknowledged this long are taken over (a journal with consumers). */
  reclaimIdleMs?: number;
  backoff?: BackoffOptions;
  /** Caps on keys per reading, device and pilot; default DEFAULT_KEY_LIMITS. */
  keyLimits?: KeyLimits;
}

/** The registry facets ingest uses. */
export type IngestRegistry = Pick<DeviceLookup, 'getDevicePilot'> & KeyTypeStore & DeviceErrorLog;

export interface PipelineDeps {
  journal: JournalConsumer;
  registry: IngestRegistry;
  writer: PointWriter;
  logger: Logger;
  metrics: IngestMetrics;
  /** Called with the points of each stored batch (live fan-out). Must not throw. */
  onStored?: (points: Point[]) => void;
}

export interface PipelineStatus {
  writing: boolean;
  /** Journal entries read since start. */
  messagesReceived: number;
  /** Journal entries fully handled (stored or refused) since start. */
  messagesDone: number;
  influxHealthy: boolean;
  lastError?: string;
  /** Why writes fail now, said without addresses (for /readyz); unset while healthy. */
  writeProblem?: string;
}

export class Pipeline {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pilots = new Map<string, string>();
  private readonly types: KeyTypeChecker;
  private lastReclaim = Date.now();
  private readonly wake = new DrainWake();
  private lastDispatchAt = 0;
  private unwatch: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly faults: WriteFaults;
  private readonly writeDeps: WriteDeps;
  private lastError: string | undefined;
  private messagesDone = 0;
  private messagesRead = 0;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly deps: PipelineDeps,
  ) {
    this.types = new KeyTypeChecker(deps.registry, opts.keyLimits);
    this.faults = new WriteFaults(deps.logger, (ok) => deps.metrics.influxHealthy.set(ok ? 1 : 0));
    const { writer, metrics } = deps;
    this.writeDeps = {
      writer,
      metrics,
      faults: this.faults,
      backoff: opts.backoff,
      signal: this.abort.signal,
    };
  }

  start(): void {
    if (this.loop) return;
    // Event-driven: an append wakes the loop at once (docs/DESIGN.md, "Stored exactly once").
    this.unwatch = this.deps.journal.watch?.(this.wake.appendSeen);
    this.loop = this.run();
  }

  status(): PipelineStatus {
    const writes = this.faults.state();
    const lastError = writes.lastError ?? this.lastError;
    return {
      writing: this.inFlight.size > 0,
      messagesReceived: this.messagesRead,
      messagesDone: this.messagesDone,
      influxHealthy: writes.healthy,
      ...(lastError ? { lastError } : {}),
      ...(writes.problem ? { writeProblem: writes.problem } : {}),
    };
  }

  /**
   * Stops reading and abandons retries. Batches not yet stored stay in the journal for the next start;
   * a write that InfluxDB already took is simply written again then (idempotent).
   */
  async stop(): Promise<void> {
    this.abort.abort();
    this.unwatch?.();
    this.wake.writeDone();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    const readChunk = this.opts.readChunk ?? 1000;
    let batch: Batch | undefined;
    let attempt = 0;
    // Entries read but not yet handed to a batch (at most `readChunk`), next one at `next`. When the
    // in-flight limit stops a chunk halfway, its rest waits here instead of being read again.
    let rows: JournalEntry[] = [];
    let next = 0;
    // About one batch's worth per read, by the readings per message seen so far: big messages in
    // chunks of `readChunk` kept megabytes of payloads alive across several batches' writes.
    let limit = readChunk;
    let chunkPoints = 0;
    let readingsPerMessage = 1;
    while (!this.stopped) {
      if (this.inFlight.size >= this.opts.maxInFlight) {
        await Promise.race(this.inFlight);
        continue;
      }
      let failed = false;
      let caughtUp = false;
      try {
        if (next >= rows.length) {
          if (next > 0) readingsPerMessage = Math.max(1, chunkPoints / next);
          rows = [];
          next = 0;
          chunkPoints = 0;
          limit = Math.min(readChunk, Math.max(16, Math.ceil(this.opts.batchSize / readingsPerMessage)));
          // What is appended or written from here on wakes the loop again (no wake-up is lost).
          this.wake.reset();
          rows = await this.readEntries(limit);
          caughtUp = rows.length < limit;
        }
        while (next < rows.length) {
          const row = rows[next] as JournalEntry;
          const converting = convertMessage(row, this.deps.registry, this.pilots, this.types);
          const converted = converting instanceof Promise ? await converting : converting;
          batch ??= newBatch(Date.now());
          batch.ids.push(row.id);
          for (const p of converted.points) {
            batch.points.push(p);
            batch.lines += p.count;
            chunkPoints += p.count;
          }
          for (const e of converted.errors) batch.errors.push(e);
          this.messagesRead++;
          next++;
          if (batch.lines >= this.opts.batchSize) {
            this.dispatch(batch);
            batch = undefined;
            if (this.inFlight.size >= this.opts.maxInFlight) break;
          }
        }
        attempt = 0;
      } catch (err) {
        // The journal or registry failed; the entry at `next` (or the read) is retried after a pause.
        failed = true;
        this.lastError = `processing journal entries: ${(err as Error).message}`;
        logger.error({ err }, 'ingest: reading the journal or registry failed; retrying');
      }
      if (failed) {
        await sleep(backoffDelay(attempt++, this.opts.backoff ?? DEFAULT_BACKOFF), this.abort.signal);
        continue;
      }
      if (!caughtUp || next < rows.length) continue;
      // Caught up. A partial batch goes as soon as no write is in flight and the previous one started
      // `minWriteGapMs` ago (idle: at once; under load: fewer, larger writes), or once it is `flushMs`
      // old while others are in flight; else it keeps filling.
      const now = Date.now();
      const idle = this.inFlight.size === 0;
      const gapLeft = this.lastDispatchAt + (this.opts.minWriteGapMs ?? MIN_WRITE_GAP_MS) - now;
      if (batch && ((idle && gapLeft <= 0) || now - batch.startedAt >= this.opts.flushMs)) {
        this.dispatch(batch);
        batch = undefined;
        continue;
      }
      // Until a write returns, the fallback poll, or (with no write in flight) an append. While a
      // write is in flight, appends are read when it returns: one read per write, not one per commit.
      const poll = this.opts.pollMs ?? (this.deps.journal.watch ? WATCHED_POLL_MS : this.opts.flushMs);
      // Idle with a partial batch inside the write gap: it goes when the gap ends (appends meanwhile
      // are read then, with it).
      const gap = batch && idle ? gapLeft : poll;
      const due = batch ? batch.startedAt + this.opts.flushMs - now : poll;
      if (!this.stopped) await this.wake.sleep(Math.min(due, poll, gap), idle && !batch);
    }
  }

  /** New entries; now and then first those a dead consumer left behind (none with one consumer). */
  private async readEntries(limit: number): Promise<JournalEntry[]> {
    const idleMs = this.opts.reclaimIdleMs ?? RECLAIM_IDLE_MS;
    if (Date.now() - this.lastReclaim >= idleMs / 2) {
      this.lastReclaim = Date.now();
      const reclaimed = await this.deps.journal.reclaim(limit, idleMs);
      if (reclaimed.length > 0) return reclaimed;
    }
    return this.deps.journal.read(limit);
  }

  private dispatch(batch: Batch): void {
    this.lastDispatchAt = Date.now();
    const p: Promise<void> = this.complete(batch)
      .catch((err) => {
        if (!this.stopped) this.deps.logger.error({ err }, 'ingest: batch failed unexpectedly');
      })
      .finally(() => {
        this.inFlight.delete(p);
        this.wake.writeDone(); // a partial batch may go now
      });
    this.inFlight.add(p);
  }

  private async complete(batch: Batch): Promise<void> {
    const { journal, registry, metrics, logger } = this.deps;
    if (batch.points.length > 0) this.deps.metrics.batchPoints.observe(batch.points.length);
    const refused = batch.points.length > 0 ? await writeUntilStored(batch.points, this.writeDeps) : [];
    if (refused === ABORTED) return; // stopping: the entries stay in the journal for the next start
    const errors: DeviceErrorInput[] = [...batch.errors];
    for (const r of refused) {
      const reading = pointReadings(r.point)[0];
      errors.push({
        deviceId: r.point.deviceId,
        at: Date.now(),
        reason: `InfluxDB refused the reading at ts ${reading?.ts}: ${r.reason}`,
        payloadPrefix: JSON.stringify(reading).slice(0, 200),
      });
    }
    if (errors.length > 0) {
      metrics.readingsRefused.inc(errors.length);
      try {
        await registry.recordDeviceErrors(errors);
      } catch (err) {
        // Losing an error record must not hold back the batch's stored readings.
        logger.error({ err, count: errors.length }, 'ingest: could not record device errors');
      }
    }
    await journal.ack(batch.ids);
    this.messagesDone += batch.ids.length;
    const stored = storedPoints(
      batch.points,
      refused.map((r) => r.point),
    );
    metrics.pointsStored.inc(lineCount(stored));
    if (stored.length > 0) this.deps.onStored?.(stored);
  }
}

/** Default `minWriteGapMs`: at most about 50 partial writes a second. */
const MIN_WRITE_GAP_MS = 20;

/** The fallback poll with a watched journal: only a lost notification waits this long. */
const WATCHED_POLL_MS = 1000;

/** Default `reclaimIdleMs`: far longer than any write takes, so only a dead consumer's entries move. */
const RECLAIM_IDLE_MS = 5 * 60_000;
