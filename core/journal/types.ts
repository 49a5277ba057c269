/**
 * The telemetry journal: the broker appends each accepted message before its PUBACK, ingest reads
 * it and acknowledges it once InfluxDB stored it (or refused it for good). Shaped like a Redis
 * Stream with one consumer group (XADD, XLEN, XREADGROUP, XACK + XDEL, XAUTOCLAIM); SQLite is the
 * embedded implementation. Neither the broker nor ingest knows which one it has.
 */

/** One accepted telemetry message. */
export interface JournalEntry {
  /** Opaque, assigned by the journal; only ever handed back to `ack`. */
  id: string;
  deviceId: string;
  /** When the platform accepted the message: the time of a flat payload, the same at every re-read. */
  receivedAt: number;
  /** The payload as the device sent it. */
  payload: Buffer;
}

export type NewJournalEntry = Omit<JournalEntry, 'id'>;

/** The broker's side. */
export interface JournalAppender {
  /**
   * Appends the entries in order, all or none; resolves once they survive a crash of this process
   * (the PUBACK waits for it). Rejects when they were not appended.
   */
  append(entries: readonly NewJournalEntry[]): Promise<void>;
  /** Entries appended and not yet acknowledged, by every writer and consumer (for backpressure). */
  length(): Promise<number>;
  close(): Promise<void>;
}

/** Ingest's side: one consumer of the journal's one consumer group. */
export interface JournalConsumer {
  /**
   * Up to `limit` entries not yet handed to this consumer, oldest first; after a restart, first the
   * ones it was handed before and did not acknowledge. Resolves [] when there are none now.
   */
  read(limit: number): Promise<JournalEntry[]>;
  /** Removes entries this consumer read, once they are stored or refused for good. */
  ack(ids: readonly string[]): Promise<void>;
  /**
   * Up to `limit` entries another consumer read and left unacknowledged for `minIdleMs` or longer
   * (it died), now this consumer's. Resolves [] for a journal with a single consumer.
   */
  reclaim(limit: number, minIdleMs: number): Promise<JournalEntry[]>;
  length(): Promise<number>;
  /** When the oldest entry not yet acknowledged was accepted (its receivedAt); undefined when empty. */
  oldestReceivedAt?(): Promise<number | undefined>;
  /** Optional: calls `listener` soon after entries are appended (maybe coalesced); returns an unwatch. */
  watch?(listener: () => void): () => void;
  close(): Promise<void>;
}

/** A journal both sides of one process can use (the embedded SQLite one is both). */
export type TelemetryJournal = JournalAppender & JournalConsumer;
