/**
 * Group commit and backpressure over any telemetry journal: appends arriving together share one
 * journal append, and past `maxMessages` new ones are held (with their PUBACKs) until ingest has
 * drained the journal to half. Why: docs/DESIGN.md, "Durable before the PUBACK" and "Backpressure".
 */
import type { JournalAppender, NewJournalEntry } from '../core/journal/types.js';
import type { Logger } from '../core/log.js';

export interface GroupCommit {
  /**
   * Resolves once the message is in the journal; rejects if the append failed. With `mayHold`
   * false it is appended even while the journal is past its bound.
   */
  append(deviceId: string, receivedAt: number, payload: Buffer, mayHold?: boolean): Promise<void>;
  /** True while appends are held because the journal is past its bound. */
  held(): boolean;
  /** Appends what is queued, refuses what is held (those devices get no PUBACK and re-send). */
  close(): Promise<void>;
}

export interface GroupCommitOptions {
  /** Past this many journal entries, appends wait until the journal is at or below half of it. */
  maxMessages: number;
  /** How often a held appender checks whether ingest has drained the journal. Default 100 ms. */
  pollMs?: number;
  logger: Logger;
  /** Told when holding starts (true) and ends (false); the broker announces it to the API. */
  onHeldChange?: (held: boolean) => void;
}

type Pending = NewJournalEntry & { resolve: () => void; reject: (err: Error) => void };

export function createGroupCommit(journal: JournalAppender, opts: GroupCommitOptions): GroupCommit {
  const { logger } = opts;
  const resumeAt = Math.floor(opts.maxMessages / 2);
  let queued: Pending[] = [];
  let held: Pending[] = [];
  let holding = false;
  let scheduled = false;
  let committing: Promise<void> | undefined;
  let checking = false;
  let closed = false;
  let poll: NodeJS.Timeout | undefined;

  // One append in flight; whatever arrives meanwhile goes into the next one.
  function schedule() {
    if (scheduled || committing || queued.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (queued.length === 0 || committing) return;
      committing = commit().finally(() => {
        committing = undefined;
        schedule();
      });
    });
  }

  async function commit() {
    const batch = queued;
    queued = [];
    try {
      await journal.append(batch);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    for (const p of batch) p.resolve();
    if (holding || closed) return;
    const length = await backlog();
    if (length !== undefined && length > opts.maxMessages && !holding && !closed) startHolding(length);
  }

  /** Entries in the journal, or undefined when it cannot tell now (the next check tries again). */
  async function backlog(): Promise<number | undefined> {
    try {
      return await journal.length();
    } catch (err) {
      logger.error({ err }, 'broker: could not measure the telemetry journal');
      return undefined;
    }
  }

  function startHolding(length: number) {
    holding = true;
    logger.warn(
      { length, max: opts.maxMessages },
      'broker: telemetry journal full; holding PUBACKs until ingest has drained it to half',
    );
    poll = setInterval(maybeResume, opts.pollMs ?? 100);
    poll.unref();
    opts.onHeldChange?.(true);
  }

  async function maybeResume() {
    if (checking) return;
    checking = true;
    const length = await backlog().finally(() => {
      checking = false;
    });
    if (!holding || length === undefined || length > resumeAt) return;
    clearInterval(poll);
    poll = undefined;
    holding = false;
    logger.info({ length, released: held.length }, 'broker: telemetry journal drained; accepting again');
    opts.onHeldChange?.(false);
    queued.push(...held);
    held = [];
    schedule();
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
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      await committing;
      if (queued.length > 0) {
        committing = commit();
        await committing;
      }
      const refused = held;
      held = [];
      for (const p of refused) p.reject(new Error('the broker is closing'));
    },
  };
}
