/**
 * Group commit for the broker's LevelDB: writes issued while one `db.batch()` is written go into the
 * next one, each resolving once written, in issue order (which keeps aedes' QoS 1 delivery to
 * persistent sessions in order); recent writes are read back from memory, and a key index
 * (level-key-index.ts) answers "nothing stored there" without touching LevelDB. docs/DESIGN.md.
 */
import type { Level } from 'level';
import { KeyIndex, keyGroup, rangeGroup } from './level-key-index.js';

type Value = Buffer;
type Op = { type: 'put'; key: string; value: Value } | { type: 'del'; key: string };
type Db = Level<string, Value>;

/** Only what aedes-persistence-level 9 calls on its `db`. */
export interface BatchingLevel {
  get(key: string, options?: unknown): Promise<Value | undefined>;
  put(key: string, value: Value, options?: unknown): Promise<void>;
  del(key: string): Promise<void>;
  batch(ops: Op[], options?: unknown): Promise<void>;
  batch(): ChainedBatch;
  values(options: Record<string, unknown>): AsyncIterable<Value>;
  clear(range: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
  /** Resolves once the key index is built from the database; until then every read goes to LevelDB. */
  indexed: Promise<void>;
  /** False only when no key of `group` (level-key-index.ts) is in the database. */
  mayHold(group: string): boolean;
}

interface ChainedBatch {
  put(key: string, value: Value): ChainedBatch;
  del(key: string): ChainedBatch;
  write(): Promise<void>;
}

export function batchingLevel(db: Db, options: { recentKeys?: number } = {}): BatchingLevel {
  const index = new KeyIndex();
  const writes = new WriteQueue(db, options.recentKeys ?? 20_000, index);
  return {
    indexed: index.load(db),
    mayHold: (group) => !index.empty(group),
    async get(key, options) {
      const op = writes.latest(key);
      if (op) return op.type === 'put' ? op.value : undefined;
      const group = keyGroup(key);
      if (index.empty(group)) return undefined;
      const token = index.token(group);
      const value = await db.get(key, options as never);
      // Only a one-key group (a will) is known empty from one missing key.
      if (value === undefined && group === key) index.foundEmpty(group, token);
      return value;
    },
    put: (key, value) => writes.enqueue([{ type: 'put', key, value }]),
    del: (key) => writes.enqueue([{ type: 'del', key }]),
    // biome-ignore lint/suspicious/noExplicitAny: overloaded like abstract-level's batch()
    batch: ((ops?: Op[]): any => {
      if (ops) return writes.enqueue(ops.map((op) => ({ ...op })));
      const collected: Op[] = [];
      const chain: ChainedBatch = {
        put(key, value) {
          collected.push({ type: 'put', key, value });
          return chain;
        },
        del(key) {
          collected.push({ type: 'del', key });
          return chain;
        },
        write: () => writes.enqueue(collected),
      };
      return chain;
    }) as BatchingLevel['batch'],
    values(options) {
      const group = rangeGroup(options);
      return {
        async *[Symbol.asyncIterator]() {
          if (group !== undefined && index.empty(group)) return;
          const token = group === undefined ? 0 : index.token(group);
          await writes.settled();
          let found = false;
          try {
            for await (const value of db.values(options as never)) {
              found = true;
              yield value;
            }
          } catch (err) {
            // Closed under a read (the broker stopping mid-SUBSCRIBE or mid-CONNECT): nothing more to
            // read, and aedes would let the error escape as an uncaught exception. Nothing is lost:
            // reads delete nothing.
            if (closedUnderRead(db, err)) return;
            throw err;
          }
          if (!found && group !== undefined) index.foundEmpty(group, token);
        },
      };
    },
    async clear(range) {
      await writes.settled();
      writes.forgetRecent();
      await db.clear(range as never);
    },
    async close() {
      await writes.settled();
      await db.close();
    },
  };
}

const NOT_OPEN = new Set(['LEVEL_ITERATOR_NOT_OPEN', 'LEVEL_DATABASE_NOT_OPEN']);

const closedUnderRead = (db: Db, err: unknown): boolean =>
  db.status !== 'open' && NOT_OPEN.has((err as { code?: string } | null)?.code ?? '');

/** Writes gathered into one `db.batch()` at a time, and what a get must see meanwhile. */
class WriteQueue {
  /** Latest not-yet-written op per key: what a get must see. */
  private readonly pending = new Map<string, Op>();
  /** Latest written op of recently written keys, oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, Op>();
  private queue: Op[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly recentMax: number,
    private readonly index: KeyIndex,
  ) {}

  latest(key: string): Op | undefined {
    return this.pending.get(key) ?? this.recent.get(key);
  }

  forgetRecent(): void {
    this.recent.clear();
  }

  enqueue(ops: Op[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.index.put(op.key);
      this.queue.push(op);
      this.pending.set(op.key, op);
    }
    const written = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.pump();
    return written;
  }

  /** Resolves once everything issued so far is written. */
  async settled(): Promise<void> {
    while (this.writing || this.queue.length > 0) {
      this.pump();
      await this.writing?.catch(() => {});
    }
  }

  // One batch in flight at a time; whatever arrives meanwhile forms the next batch.
  private pump(): void {
    if (this.writing || this.queue.length === 0) return;
    const ops = this.queue;
    const done = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.writing = this.db.batch(ops as never).then(
      () => {
        for (const op of ops) this.written(op, true);
        for (const w of done) w.resolve();
      },
      (err) => {
        // What is on disk is unknown now: read it from there.
        for (const op of ops) this.written(op, false);
        for (const w of done) w.reject(err);
      },
    );
    this.writing.finally(() => {
      this.writing = undefined;
      this.pump();
    });
  }

  private written(op: Op, ok: boolean): void {
    if (this.pending.get(op.key) === op) this.pending.delete(op.key);
    this.recent.delete(op.key);
    if (!ok) return;
    this.recent.set(op.key, op);
    if (this.recent.size > this.recentMax) this.recent.delete(this.recent.keys().next().value as string);
  }
}
