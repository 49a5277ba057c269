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
  return new GroupCommitter(journal, opts);
}

class GroupCommitter implements GroupCommit {
  private readonly resumeAt: number;
  private queued: Pending[] = [];
  private heldBack: Pending[] = [];
  private holding = false;
  private scheduled = false;
  private committing: Promise<void> | undefined;
  private checking = false;
  private closed = false;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly journal: JournalAppender,
    private readonly opts: GroupCommitOptions,
  ) {
    this.resumeAt = Math.floor(opts.maxMessages / 2);
  }

  append(deviceId: string, receivedAt: number, payload: Buffer, mayHold = true): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the broker is closing'));
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = { deviceId, receivedAt, payload, resolve, reject };
      if (this.holding && mayHold) this.heldBack.push(entry);
      else {
        this.queued.push(entry);
        this.schedule();
      }
    });
  }

  held = () => this.holding;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    await this.committing;
    if (this.queued.length > 0) {
      this.committing = this.commit();
      await this.committing;
    }
    const refused = this.heldBack;
    this.heldBack = [];
    for (const p of refused) p.reject(new Error('the broker is closing'));
  }

  /** One append in flight; whatever arrives meanwhile goes into the next one. */
  private schedule() {
    if (this.scheduled || this.committing || this.queued.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.queued.length === 0 || this.committing) return;
      this.committing = this.commit().finally(() => {
        this.committing = undefined;
        this.schedule();
      });
    });
  }

  private async commit() {
    const batch = this.queued;
    this.queued = [];
    try {
      await this.journal.append(batch);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    for (const p of batch) p.resolve();
    if (this.holding || this.closed) return;
    const length = await this.backlog();
    if (length !== undefined && length > this.opts.maxMessages && !this.holding && !this.closed) {
      this.startHolding(length);
    }
  }

  /** Entries in the journal, or undefined when it cannot tell now (the next check tries again). */
  private async backlog(): Promise<number | undefined> {
    try {
      return await this.journal.length();
    } catch (err) {
      this.opts.logger.error({ err }, 'broker: could not measure the telemetry journal');
      return undefined;
    }
  }

  private startHolding(length: number) {
    this.holding = true;
    this.opts.logger.warn(
      { length, max: this.opts.maxMessages },
      'broker: telemetry journal full; holding PUBACKs until ingest has drained it to half',
    );
    this.poll = setInterval(() => this.maybeResume(), this.opts.pollMs ?? 100);
    this.poll.unref();
    this.opts.onHeldChange?.(true);
  }

  private async maybeResume() {
    if (this.checking) return;
    this.checking = true;
    const length = await this.backlog().finally(() => {
      this.checking = false;
    });
    if (!this.holding || length === undefined || length > this.resumeAt) return;
    clearInterval(this.poll);
    this.poll = undefined;
    this.holding = false;
    this.opts.logger.info(
      { length, released: this.heldBack.length },
      'broker: telemetry journal drained; accepting again',
    );
    this.opts.onHeldChange?.(false);
    this.queued.push(...this.heldBack);
    this.heldBack = [];
    this.schedule();
  }
}
