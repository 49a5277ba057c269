/**
 * Device presence per broker node (a row per node holding a connection; nodes that stop renewing their
 * expiry lose their rows) and the credential change log (what broker nodes poll to drop revoked
 * sessions), in PostgreSQL.
 */

import type { PoolClient } from 'pg';
import type { CredentialChangeLog, PresenceStore } from '../types.js';
import { type Pool, tx } from './db.js';

/** Rows returned by one credentialChangesSince call; the caller polls again for the rest. */
const CHANGES_BATCH = 10_000;

/** Online while any node still holds a connection of the device. */
async function refreshOnline(client: PoolClient, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await client.query(
    `UPDATE devices d SET online = EXISTS (SELECT 1 FROM device_connections c WHERE c.device_id = d.id)
     WHERE d.id = ANY($1::text[])`,
    [deviceIds.sort()],
  );
}

export function pgPresence(pool: Pool): PresenceStore & CredentialChangeLog {
  return {
    async recordPresence(updates, node) {
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
      const online = ids.map((id) => byDevice.get(id)!.online);
      const seen = ids.map((id) => byDevice.get(id)!.lastSeenAt);
      await tx(pool, async (client) => {
        if (node === undefined) {
          await client.query(
            `UPDATE devices d SET online = u.online, last_seen_at = greatest(coalesce(d.last_seen_at, 0), u.seen)
             FROM (SELECT * FROM unnest($1::text[], $2::boolean[], $3::bigint[]) AS x(id, online, seen) ORDER BY id) u
             WHERE d.id = u.id`,
            [ids, online, seen],
          );
          return;
        }
        await client.query(
          `INSERT INTO device_connections (device_id, node_id)
           SELECT id, $2 FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`,
          [ids.filter((_, i) => online[i]), node],
        );
        await client.query(
          'DELETE FROM device_connections WHERE node_id = $2 AND device_id = ANY($1::text[])',
          [ids.filter((_, i) => !online[i]), node],
        );
        await client.query(
          `UPDATE devices d SET last_seen_at = greatest(coalesce(d.last_seen_at, 0), u.seen),
             online = EXISTS (SELECT 1 FROM device_connections c WHERE c.device_id = d.id)
           FROM (SELECT * FROM unnest($1::text[], $2::bigint[]) AS x(id, seen) ORDER BY id) u
           WHERE d.id = u.id`,
          [ids, seen],
        );
      });
    },
    async markAllOffline(node) {
      if (node === undefined) {
        await pool.query('UPDATE devices SET online = false WHERE online');
        await pool.query('DELETE FROM device_connections');
        return;
      }
      await tx(pool, async (client) => {
        const { rows } = await client.query<{ device_id: string }>(
          'DELETE FROM device_connections WHERE node_id = $1 RETURNING device_id',
          [node],
        );
        await refreshOnline(
          client,
          rows.map((r) => r.device_id),
        );
      });
    },
    async nodeHeartbeat(node, ttlMs) {
      const now = Date.now();
      return tx(pool, async (client) => {
        const dead = await client.query<{ device_id: string; node_id: string }>(
          `WITH dead AS (DELETE FROM broker_nodes WHERE expires_at < $1 RETURNING node_id)
           DELETE FROM device_connections c USING dead WHERE c.node_id = dead.node_id
           RETURNING c.device_id, c.node_id`,
          [now],
        );
        await refreshOnline(client, [...new Set(dead.rows.map((r) => r.device_id))]);
        const renewed = await client.query(
          `INSERT INTO broker_nodes (node_id, expires_at) VALUES ($1, $2)
           ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at
           RETURNING (xmax <> 0) AS existed`,
          [node, now + ttlMs],
        );
        return renewed.rows[0]?.existed === true;
      });
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
