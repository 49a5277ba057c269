/**
 * Broker persistence: sessions, their queued QoS 1/2 packets, retained messages and wills.
 * `level` (default) keeps them in LevelDB under `${dataDir}/broker`, so persistent sessions' queues and
 * retained messages survive a broker restart; `memory` keeps them in the process (tests, throwaway
 * runs). LevelDB takes a lock on its directory: a second broker on the same DATA_DIR fails to start
 * instead of corrupting the first one's queues.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import aedesPersistenceLevel from 'aedes-persistence-level';
import { Level } from 'level';
import { ensurePrivateDir, tightenTree } from '../core/private-files.js';
import { type BatchingLevel, batchingLevel } from './level-batching.js';

export interface BrokerPersistence {
  /** What to pass as aedes' `persistence` option; undefined means aedes' built-in memory store. */
  persistence: unknown;
  /** Where the data lives, or undefined for memory. */
  location: string | undefined;
  close(): Promise<void>;
}

export async function openBrokerPersistence(
  kind: 'level' | 'memory',
  dataDir: string,
): Promise<BrokerPersistence> {
  if (kind === 'memory') return { persistence: undefined, location: undefined, close: async () => {} };
  const location = path.join(dataDir, 'broker');
  ensurePrivateDir(location);
  const db = new Level<string, Buffer>(location, { valueEncoding: 'buffer' });
  try {
    await db.open({ createIfMissing: true });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new Error(`broker persistence ${location} is in use by another broker process`, { cause: err });
    }
    throw err;
  }
  // Files LevelDB made before umask 077 (main/run.ts) was set, e.g. by an older version.
  tightenTree(location);
  // Group commit (level-batching.ts): same durability, a fraction of the native calls.
  const batching = batchingLevel(db);
  await batching.indexed;
  return {
    persistence: skipEmptySessionReads(
      aedesPersistenceLevel(batching as unknown as Level<string, Buffer>),
      batching,
    ),
    location,
    // Through the wrapper: it writes what is still pending first.
    close: () => batching.close(),
  };
}

interface SessionReads {
  outgoingStream(client: { id: string }): Readable;
  subscriptionsByClient(client: { id: string }, cb?: unknown): unknown;
}

/**
 * Every CONNECT of a persistent session reads its subscriptions and its queued messages. When the key
 * index says a group is empty, answer at once: an empty list, an empty stream, without the async
 * iterators aedes-persistence-level stacks on an empty read (a quarter of the broker's CPU per storm
 * CONNECT, 562 -> 424 µs; docs/DESIGN.md, "Reconnect storms"). Keys as asyncPersistence.js builds them:
 * `subscriptions:{id}:` and `outgoing:{id}:`, the id URI-encoded.
 */
function skipEmptySessionReads(persistence: unknown, level: BatchingLevel): unknown {
  const p = persistence as SessionReads;
  const outgoingStream = p.outgoingStream.bind(p);
  const subscriptionsByClient = p.subscriptionsByClient.bind(p);
  p.outgoingStream = (client) =>
    level.mayHold(`outgoing:${encodeURIComponent(client.id)}:`) ? outgoingStream(client) : Readable.from([]);
  p.subscriptionsByClient = (client, cb) =>
    cb !== undefined || level.mayHold(`subscriptions:${encodeURIComponent(client.id)}:`)
      ? subscriptionsByClient(client, cb)
      : Promise.resolve([]);
  return p;
}
