/** Device presence and the credential change log (what broker nodes poll to drop revoked sessions), in PostgreSQL. */
import type { CredentialChangeLog, PresenceStore } from '../types.js';
import { type Pool, tx } from './db.js';

/** Rows returned by one credentialChangesSince call; the caller polls again for the rest. */
const CHANGES_BATCH = 10_000;

export function pgPresence(pool: Pool): PresenceStore & CredentialChangeLog {
  return {
    async recordPresence(updates) {
      if (updates.length === 0) return;
      // One row per device, as applying them in order would leave it: the last state, the latest time.
      const byDevice = new Map<string, { online: boolean; lastSeenAt: number }>();
      for (const u of updates) {
        const prev = byDevice.get(u.deviceId);
        byDevice.set(u.deviceId, {
          online: u.online,
          lastSeenAt: Math.max(prev?.lastSeenAt ?? 0, u.lastSeenAt),
        });
      }
      // Sorted ids, so nodes updating overlapping devices mostly lock rows in one order; tx() retries
      // the rare deadlock.
      const ids = [...byDevice.keys()].sort();
      await tx(pool, (client) =>
        client.query(
          `UPDATE devices d SET online = u.online, last_seen_at = greatest(coalesce(d.last_seen_at, 0), u.seen)
           FROM (SELECT * FROM unnest($1::text[], $2::boolean[], $3::bigint[]) AS x(id, online, seen) ORDER BY id) u
           WHERE d.id = u.id`,
          [ids, ids.map((id) => byDevice.get(id)!.online), ids.map((id) => byDevice.get(id)!.lastSeenAt)],
        ),
      );
    },
    async markAllOffline() {
      await pool.query('UPDATE devices SET online = false WHERE online');
    },
    async credentialChangesSince(since) {
      const { rows } = await pool.query<{ seq: number; device_id: string }>(
        'SELECT seq, device_id FROM credential_changes WHERE seq > $1 ORDER BY seq LIMIT $2',
        [since, CHANGES_BATCH],
      );
      const last = rows[rows.length - 1];
      let lastChange = last?.seq;
      if (lastChange === undefined) {
        // Nothing newer. A caller starting at -1 (or ahead of the log after a reset) goes on from the
        // head; any other stays where it is, since a change committed after the query above is above it.
        const head = await pool.query<{ seq: number | null }>(
          'SELECT max(seq) AS seq FROM credential_changes',
        );
        const headSeq = head.rows[0]?.seq ?? 0;
        lastChange = since < 0 ? headSeq : Math.min(headSeq, since);
      }
      return { lastChange, deviceIds: [...new Set(rows.map((r) => r.device_id))] };
    },
  };
}
