/**
 * Which key groups of the broker's LevelDB may hold a key, in memory, so that a reconnecting
 * persistent session with nothing stored costs no LevelDB iterator or get (docs/DESIGN.md,
 * "Reconnect storms"). aedes-persistence-level keys a session's data as `{kind}:{client id}:...`
 * (the id is URI-encoded, so it holds no ':') and reads it by the range [`{kind}:{id}:`,
 * `{kind}:{id};`); a will or a retained message is one key, `will:{id}`, `retained:{topic}`.
 * A key's group is the key up to and including its second ':', or the whole key if it has fewer.
 *
 * The index only ever errs towards "maybe": every put marks its group before it is written; a group
 * is forgotten only after a read of the database found nothing in it and nothing was put into it
 * since that read began. So "not in the index" means "not in the database".
 */
import type { Level } from 'level';

type Db = Level<string, Buffer>;

export function keyGroup(key: string): string {
  const first = key.indexOf(':');
  if (first < 0) return key;
  const second = key.indexOf(':', first + 1);
  return second < 0 ? key : key.slice(0, second + 1);
}

/** The key just past every key of a `{kind}:{id}:` group (';' is the byte after ':'). */
const groupEnd = (group: string) => `${group.slice(0, -1)};`;

/** `group` if `range` is exactly one multi-key group's range ({ gte: group, lt: its end }), else undefined. */
export function rangeGroup(range: Record<string, unknown>): string | undefined {
  const { gte, lt, gt, lte } = range;
  if (typeof gte !== 'string' || typeof lt !== 'string' || gt !== undefined || lte !== undefined)
    return undefined;
  if (!gte.endsWith(':') || keyGroup(gte) !== gte || gte.indexOf(':') === gte.length - 1) return undefined;
  return lt === groupEnd(gte) ? gte : undefined;
}

export class KeyIndex {
  /** Group -> sequence number of the last put into it. Absent: the group holds no key. */
  private readonly groups = new Map<string, number>();
  private seq = 0;
  private loaded = false;

  /**
   * Reads every group present in `db`: one key per group (the iterator seeks past the rest). Keys
   * put meanwhile are marked by `put`. If the scan fails the index stays unused: reads go to LevelDB.
   */
  async load(db: Db): Promise<void> {
    const keys = db.keys();
    try {
      for (let key = await keys.next(); key !== undefined; key = await keys.next()) {
        const group = keyGroup(key);
        if (!this.groups.has(group)) this.groups.set(group, this.seq);
        if (group !== key) keys.seek(groupEnd(group));
      }
      this.loaded = true;
    } catch {
      // e.g. the database closed while loading; every read keeps going to LevelDB.
    } finally {
      await keys.close().catch(() => {});
    }
  }

  /** Call for every put, before it is written. */
  put(key: string): void {
    this.groups.set(keyGroup(key), ++this.seq);
  }

  /** True only if no key of `group` is in the database (false while loading). */
  empty(group: string): boolean {
    return this.loaded && !this.groups.has(group);
  }

  /** Taken before a database read of `group`; pass it to `foundEmpty` if the read found nothing. */
  token(group: string): number | undefined {
    return this.groups.get(group);
  }

  /** A read that began at `token` found no key of `group`: forget it unless something was put since. */
  foundEmpty(group: string, token: number | undefined): void {
    if (token !== undefined && this.groups.get(group) === token) this.groups.delete(group);
  }

  get size(): number {
    return this.groups.size;
  }
}
