/** Device presence and the credential change log (what brokers poll to drop revoked sessions), in SQLite. */
import type { CredentialChangeLog, PresenceStore } from '../types.js';
import type { Db } from './db.js';

/** Rows returned by one credentialChangesSince call; the caller polls again for the rest. */
const CHANGES_BATCH = 10_000;

type PresenceUpdate = Parameters<PresenceStore['recordPresence']>[0][number];

export function sqlitePresence(db: Db): PresenceStore & CredentialChangeLog {
  const s = {
    allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
    presence: db.prepare(
      'UPDATE devices SET online = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?',
    ),
    changesSince: db.prepare<[number, number], { seq: number; device_id: string }>(
      'SELECT seq, device_id FROM credential_changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    lastChange: db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM credential_changes'),
  };
  const presenceTx = db.transaction((updates: readonly PresenceUpdate[]) => {
    for (const u of updates) s.presence.run(u.online ? 1 : 0, u.lastSeenAt, u.deviceId);
  });
  // One read transaction: the rows and the head come from one snapshot. Read apart, a change another
  // process committed between them would be above `since` but at or below the head: skipped for good.
  const changesTx = db.transaction((since: number) => {
    const rows = s.changesSince.all(since, CHANGES_BATCH);
    const last = rows[rows.length - 1];
    // With no newer rows, the head: a caller starting at -1 (or ahead after a reset) continues there.
    const lastChange = last ? last.seq : (s.lastChange.get()?.seq ?? 0);
    return { lastChange, deviceIds: [...new Set(rows.map((r) => r.device_id))] };
  });

  return {
    async recordPresence(updates) {
      if (updates.length > 0) presenceTx.immediate(updates);
    },
    // One broker per DATA_DIR (its LevelDB lock): nodes need the PostgreSQL store.
    async markAllOffline() {
      s.allOffline.run();
    },
    async nodeHeartbeat() {
      return true;
    },
    async credentialChangesSince(since) {
      return changesTx.deferred(since);
    },
  };
}
