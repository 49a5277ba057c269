/** aedes-persistence-level 9 ships no types; this is the part the broker uses. */
declare module 'aedes-persistence-level' {
  import type { AbstractLevel } from 'abstract-level';

  /** Returns an aedes persistence backed by `db` (keys strings, values Buffers). */
  // biome-ignore lint/suspicious/noExplicitAny: the db is any abstract-level database
  export default function aedesPersistenceLevel(db: AbstractLevel<any, any, any>): unknown;
}
