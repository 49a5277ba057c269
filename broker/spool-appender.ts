/**
 * The broker's writer of the telemetry spool (core/telemetry-spool.ts): group commit plus backpressure.
 *
 * ## Group commit
 * `append` only queues the message; one `setImmediate` later every message queued meanwhile is
 * committed in one SQLite transaction, and only then do their promises resolve (and the devices get
 * their PUBACKs, broker/publish.ts). better-sqlite3 is synchronous, so while a transaction runs the
 * event loop is blocked and new packets pile up in the sockets; the next tick's transaction takes all
 * of them. The cost of a commit (a WAL append and, with `synchronous = NORMAL`, no fsync) is thus paid
 * once per event-loop turn instead of once per message, and under load a transaction carries as many
 * messages as arrived during the previous one.
 *
 * ## Backpressure (bounded spool, nothing dropped)
 * When a commit leaves more than `maxMessages` rows in the spool (ingest cannot keep up, e.g. InfluxDB
 * is down), new appends are held in memory, *before* being written, so the spool stays bounded; their
 * promises stay pending, so their devices get no PUBACK. Once ingest has drained the spool to half of
 * the bound (polled every `pollMs`), the held messages are committed in one transaction and
 * acknowledged. What is held is bounded too: aedes stops reading a client's socket until the hook has
 * called back for the packets it already parsed (`_parsingBatch`, aedes lib/client.js `nextBatch`),
 * so each connection contributes at most one socket read's worth of messages, and devices stop at
 * their own in-flight windows (MQTT 3.1.1 section 4.4: an unacknowledged QoS 1 message stays theirs).
 * A device held longer than 1.5 keepalives is disconnected by aedes (its PINGREQs wait unread behind
 * the held PUBLISH) and re-sends its unacknowledged messages after reconnecting; nothing is lost.
 */
import type { Logger } from '../core/log.js';
import type { SpoolEntry, TelemetrySpool } from '../core/telemetry-spool.js';

export interface SpoolAppender {
  /**
   * Resolves once the message is committed to the spool; rejects if the commit failed. With
   * `mayHold` false it is committed even while the spool is past its bound.
   */
  append(deviceId: string, receivedAt: number, payload: Buffer, mayHold?: boolean): Promise<void>;
  /** True while appends are held because the spool is past its bound. */
  held(): boolean;
  /** Commits what is queued, refuses what is held (those devices get no PUBACK and re-send). */
  close(): void;
}

export interface SpoolAppenderOptions {
  /** Past this many spooled messages, appends wait until the spool is at or below half of it. */
  maxMessages: number;
  /** How often a held appender checks whether ingest has drained the spool. Default 100 ms. */
  pollMs?: number;
  logger: Logger;
  /** Told when holding starts (true) and ends (false); the broker announces it to the API. */
  onHeldChange?: (held: boolean) => void;
}

type Pending = SpoolEntry & { resolve: () => void; reject: (err: Error) => void };

export function createSpoolAppender(spool: TelemetrySpool, opts: SpoolAppenderOptions): SpoolAppender {
  const { logger } = opts;
  const resumeAt = Math.floor(opts.maxMessages / 2);
  let queued: Pending[] = [];
  let held: Pending[] = [];
  let holding = false;
  let scheduled = false;
  let closed = false;
  let poll: NodeJS.Timeout | undefined;

  function commit() {
    scheduled = false;
    const batch = queued;
    queued = [];
    try {
      spool.appendMany(batch);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    for (const p of batch) p.resolve();
    checkBound();
  }

  /** Rows in the spool, or undefined when SQLite cannot tell now (the next check tries again). */
  function spooledRows(): number | undefined {
    try {
      return spool.count();
    } catch (err) {
      logger.error({ err }, 'broker: could not count the telemetry spool');
      return undefined;
    }
  }

  function checkBound() {
    if (holding || closed) return;
    const spooled = spooledRows();
    if (spooled === undefined || spooled <= opts.maxMessages) return;
    holding = true;
    logger.warn(
      { spooled, max: opts.maxMessages },
      'broker: telemetry spool full; holding PUBACKs until ingest has drained it to half',
    );
    poll = setInterval(maybeResume, opts.pollMs ?? 100);
    poll.unref();
    opts.onHeldChange?.(true);
  }

  function maybeResume() {
    const spooled = spooledRows();
    if (spooled === undefined || spooled > resumeAt) return;
    clearInterval(poll);
    poll = undefined;
    holding = false;
    logger.info({ spooled, released: held.length }, 'broker: telemetry spool drained; accepting again');
    opts.onHeldChange?.(false);
    queued.push(...held);
    held = [];
    schedule();
  }

  function schedule() {
    if (scheduled || queued.length === 0) return;
    scheduled = true;
    setImmediate(commit);
  }

  return {
    append(deviceId, receivedAt, payload, mayHold = true) {
      if (closed) return Promise.reject(new Error('the broker is closing'));
      return new Promise<void>((resolve, reject) => {
        const entry: Pending = { deviceId, receivedAt, payload, resolve, reject };
        if (holding && mayHold) held.push(entry);
        else {
          queued.push(entry);
          schedule();
        }
      });
    },
    held: () => holding,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      if (queued.length > 0) commit();
      const refused = held;
      held = [];
      for (const p of refused) p.reject(new Error('the broker is closing'));
    },
  };
}
