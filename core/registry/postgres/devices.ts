/**
 * Devices and their credentials, in PostgreSQL. A rotation or deletion is numbered in the credential
 * change log (presence.ts reads it) in the same transaction.
 */
import { newId } from '../../secrets.js';
import { DEVICE_COLUMNS, type DeviceRow, toDevice } from '../device-rows.js';
import { decodeCursor } from '../errors.js';
import { page } from '../sqlite/db.js';
import type { DeviceStore, NewDevice } from '../types.js';
import { LOCK, type Pool, type Queryable, tx } from './db.js';

async function liveDevice(db: Queryable, deviceId: string, lock = false): Promise<DeviceRow | undefined> {
  const { rows } = await db.query<DeviceRow>(
    `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = $1 AND d.deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [deviceId],
  );
  return rows[0];
}

/**
 * Deletes the device (secretHash null) or replaces its secret, and logs the change. The log's lock
 * makes changes commit in seq order, so brokers polling "after seq N" never miss one.
 */
function changeSecret(pool: Pool, deviceId: string, secretHash: string | null): Promise<boolean> {
  return tx(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK.credentialChanges]);
    const now = Date.now();
    const result =
      secretHash === null
        ? await client.query(
            'UPDATE devices SET deleted_at = $1, secret_hash = NULL, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL',
            [now, deviceId],
          )
        : await client.query(
            'UPDATE devices SET secret_hash = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL',
            [secretHash, now, deviceId],
          );
    if (result.rowCount === 0) return false;
    await client.query('INSERT INTO credential_changes (device_id, at) VALUES ($1, $2)', [deviceId, now]);
    return true;
  });
}

export function pgDevices(pool: Pool): DeviceStore {
  return {
    async createDevice(pilotId, input, secretHash) {
      const id = newId('dev');
      const now = Date.now();
      const { rows } = await pool.query<DeviceRow>(
        `INSERT INTO devices AS d (id, pilot_id, name, model, firmware_version, metadata, secret_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${DEVICE_COLUMNS}`,
        [
          id,
          pilotId,
          input.name,
          input.model ?? null,
          input.firmwareVersion ?? null,
          JSON.stringify(input.metadata ?? {}),
          secretHash,
          now,
        ],
      );
      return toDevice(rows[0]!);
    },
    async getDeviceForPartner(deviceId, partnerId) {
      const { rows } = await pool.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices d
         JOIN pilot_members m ON m.pilot_id = d.pilot_id AND m.partner_id = $1
         WHERE d.id = $2 AND d.deleted_at IS NULL`,
        [partnerId, deviceId],
      );
      return rows[0] ? toDevice(rows[0]) : undefined;
    },
    async listDevices(pilotId, req) {
      const after = decodeCursor('devices', req.cursor) ?? 0;
      const { rows } = await pool.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices d
         WHERE d.pilot_id = $1 AND d.deleted_at IS NULL AND d.seq > $2 ORDER BY d.seq LIMIT $3`,
        [pilotId, after, req.limit + 1],
      );
      return page('devices', rows, req.limit, toDevice);
    },
    updateDevice(deviceId, patch: Partial<NewDevice>) {
      return tx(pool, async (client) => {
        const row = await liveDevice(client, deviceId, true);
        if (!row) return undefined;
        const { rows } = await client.query<DeviceRow>(
          `UPDATE devices AS d SET name = $1, model = $2, firmware_version = $3, metadata = $4, updated_at = $5
           WHERE d.id = $6 AND d.deleted_at IS NULL RETURNING ${DEVICE_COLUMNS}`,
          [
            patch.name !== undefined ? patch.name : row.name,
            patch.model !== undefined ? patch.model : row.model,
            patch.firmwareVersion !== undefined ? patch.firmwareVersion : row.firmware_version,
            patch.metadata !== undefined ? JSON.stringify(patch.metadata) : row.metadata,
            Date.now(),
            deviceId,
          ],
        );
        return rows[0] ? toDevice(rows[0]) : undefined;
      });
    },
    deleteDevice: (deviceId) => changeSecret(pool, deviceId, null),
    rotateDeviceSecret: (deviceId, secretHash) => changeSecret(pool, deviceId, secretHash),
    async getDeviceCredential(deviceId) {
      const { rows } = await pool.query<{ id: string; pilot_id: string; secret_hash: string }>(
        `SELECT id, pilot_id, secret_hash FROM devices
         WHERE id = $1 AND deleted_at IS NULL AND secret_hash IS NOT NULL`,
        [deviceId],
      );
      const row = rows[0];
      return row ? { deviceId: row.id, pilotId: row.pilot_id, secretHash: row.secret_hash } : undefined;
    },
    async recentDeviceCredentials(limit) {
      const { rows } = await pool.query<{ id: string; pilot_id: string; secret_hash: string }>(
        `SELECT id, pilot_id, secret_hash FROM devices
         WHERE deleted_at IS NULL AND secret_hash IS NOT NULL AND last_seen_at IS NOT NULL
         ORDER BY last_seen_at DESC LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ deviceId: r.id, pilotId: r.pilot_id, secretHash: r.secret_hash }));
    },
    async getDevicePilot(deviceId) {
      const { rows } = await pool.query<{ pilot_id: string }>('SELECT pilot_id FROM devices WHERE id = $1', [
        deviceId,
      ]);
      return rows[0]?.pilot_id;
    },
  };
}
