/**
 * Group commit for the broker's LevelDB: writes issued while one batch is being written are gathered
 * and written as the next single `db.batch()`, instead of one native call (and thread-pool hop) each.
 *
 * Why: for every QoS 1 message to a persistent session, aedes-persistence-level issues about seven
 * LevelDB operations (outgoingEnqueue: put; outgoingUpdate: get, del, put, put; outgoingClearMessageId:
 * get, batch of two dels; see node_modules/aedes-persistence-level/asyncPersistence.js). Profiles of
 * `npm run bench -- e2e --profile` put over a third of the platform's CPU in classic-level's put/get.
 *
 * Reads of recently written keys are served from memory too (`recent`, bounded): aedes reads back
 * most of what it just wrote (outgoingUpdate and outgoingClearMessageId look up the packet that
 * outgoingEnqueue stored). This is coherent because this wrapper is the database's only writer:
 * LevelDB's lock keeps other processes out, and the broker opens it once.
 *
 * What stays the same: each write's promise resolves only after the batch holding it is written, so
 * aedes still acknowledges a device after its message is on disk; a get sees every write issued
 * before it (pending writes are served from memory); iterators and clears wait for pending writes,
 * so they see them too. Writes are applied in the order they were issued (stronger than separate
 * puts, which the thread pool may complete in any order).
 */
import type { Level } from 'level';

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
}

interface ChainedBatch {
  put(key: string, value: Value): ChainedBatch;
  del(key: string): ChainedBatch;
  write(): Promise<void>;
}

export function batchingLevel(db: Db, options: { recentKeys?: number } = {}): BatchingLevel {
  /** Latest not-yet-written op per key: what a get must see. */
  const pending = new Map<string, Op>();
  /** Latest written op of recently written keys, oldest first (a Map keeps insertion order). */
  const recent = new Map<string, Op>();
  const recentMax = options.recentKeys ?? 20_000;
  const remember = (op: Op) => {
    recent.delete(op.key);
    recent.set(op.key, op);
    if (recent.size > recentMax) recent.delete(recent.keys().next().value as string);
  };
  let queue: Op[] = [];
  let waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let writing: Promise<void> | undefined;

  // One batch in flight at a time; whatever arrives meanwhile forms the next batch.
  const pump = () => {
    if (writing || queue.length === 0) return;
    const ops = queue;
    const done = waiters;
    queue = [];
    waiters = [];
    writing = db.batch(ops as never).then(
      () => {
        for (const op of ops) {
          if (pending.get(op.key) === op) pending.delete(op.key);
          remember(op);
        }
        for (const w of done) w.resolve();
      },
      (err) => {
        // What is on disk is unknown now: read it from there.
        for (const op of ops) {
          if (pending.get(op.key) === op) pending.delete(op.key);
          recent.delete(op.key);
        }
        for (const w of done) w.reject(err);
      },
    );
    writing.finally(() => {
      writing = undefined;
      pump();
    });
  };

  const enqueue = (ops: Op[]): Promise<void> => {
    for (const op of ops) {
      queue.push(op);
      pending.set(op.key, op);
    }
    const written = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    pump();
    return written;
  };

  /** Resolves once everything issued so far is written. */
  const settled = async () => {
    while (writing || queue.length > 0) {
      pump();
      await writing?.catch(() => {});
    }
  };

  return {
    async get(key, options) {
      const op = pending.get(key) ?? recent.get(key);
      if (op) return op.type === 'put' ? op.value : undefined;
      return db.get(key, options as never);
    },
    put: (key, value) => enqueue([{ type: 'put', key, value }]),
    del: (key) => enqueue([{ type: 'del', key }]),
    // biome-ignore lint/suspicious/noExplicitAny: overloaded like abstract-level's batch()
    batch: ((ops?: Op[]): any => {
      if (ops) return enqueue(ops.map((op) => ({ ...op })));
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
        write: () => enqueue(collected),
      };
      return chain;
    }) as BatchingLevel['batch'],
    values(options) {
      return {
        async *[Symbol.asyncIterator]() {
          await settled();
          yield* db.values(options as never);
        },
      };
    },
    async clear(range) {
      await settled();
      recent.clear();
      await db.clear(range as never);
    },
    async close() {
      await settled();
      await db.close();
    },
  };
}
