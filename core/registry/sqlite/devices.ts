/**
 * Devices and their credentials, in SQLite. A rotation or deletion is numbered in the credential
 * change log (presence.ts reads it) in the same transaction.
 */
import { newId } from '../../secrets.js';
import { DEVICE_COLUMNS, type DeviceRow, toDevice } from '../device-rows.js';
import type { Device, DeviceStore, NewDevice } from '../types.js';
import { type Db, listPage } from './db.js';

export function sqliteDevices(db: Db): DeviceStore {
  const s = statements(db);

  // null: delete the device; otherwise the new secret hash.
  const changeSecretTx = db.transaction((deviceId: string, secretHash: string | null): boolean => {
    const now = Date.now();
    const result =
      secretHash === null ? s.delete.run(now, now, deviceId) : s.rotate.run(secretHash, now, deviceId);
    if (result.changes === 0) return false;
    s.insertChange.run(deviceId, now);
    return true;
  });

  const updateTx = db.transaction((deviceId: string, patch: Partial<NewDevice>): Device | undefined => {
    const row = s.live.get(deviceId);
    if (!row) return undefined;
    const next = {
      name: patch.name !== undefined ? patch.name : row.name,
      model: patch.model !== undefined ? patch.model : row.model,
      firmwareVersion: patch.firmwareVersion !== undefined ? patch.firmwareVersion : row.firmware_version,
      metadata: patch.metadata !== undefined ? JSON.stringify(patch.metadata) : row.metadata,
    };
    s.update.run(next.name, next.model, next.firmwareVersion, next.metadata, Date.now(), deviceId);
    const updated = s.live.get(deviceId);
    return updated ? toDevice(updated) : undefined;
  });

  return {
    async createDevice(pilotId, input, secretHash) {
      const id = newId('dev');
      const now = Date.now();
      const metadata = JSON.stringify(input.metadata ?? {});
      const { model = null, firmwareVersion = null } = input;
      s.insert.run(id, pilotId, input.name, model, firmwareVersion, metadata, secretHash, now, now);
      return toDevice(s.live.get(id)!);
    },
    async getDeviceForPartner(deviceId, partnerId) {
      const row = s.forPartner.get(partnerId, deviceId);
      return row ? toDevice(row) : undefined;
    },
    async listDevices(pilotId, req) {
      return listPage('devices', req, (after, limit) => s.ofPilot.all(pilotId, after, limit), toDevice);
    },
    async updateDevice(deviceId, patch) {
      return updateTx.immediate(deviceId, patch);
    },
    async deleteDevice(deviceId) {
      return changeSecretTx.immediate(deviceId, null);
    },
    async rotateDeviceSecret(deviceId, secretHash) {
      return changeSecretTx.immediate(deviceId, secretHash);
    },
    async getDeviceCredential(deviceId) {
      const row = s.credential.get(deviceId);
      return row ? { deviceId: row.id, pilotId: row.pilot_id, secretHash: row.secret_hash } : undefined;
    },
    async getDevicePilot(deviceId) {
      return s.pilotOf.get(deviceId)?.pilot_id;
    },
    async recentDeviceCredentials(limit) {
      return s.recent
        .all(limit)
        .map((r) => ({ deviceId: r.id, pilotId: r.pilot_id, secretHash: r.secret_hash }));
    },
  };
}

function statements(db: Db) {
  return {
    insert: db.prepare(
      `INSERT INTO devices (id, pilot_id, name, model, firmware_version, metadata, secret_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    live: db.prepare<[string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ? AND d.deleted_at IS NULL`,
    ),
    forPartner: db.prepare<[string, string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d
       JOIN pilot_members m ON m.pilot_id = d.pilot_id AND m.partner_id = ?
       WHERE d.id = ? AND d.deleted_at IS NULL`,
    ),
    ofPilot: db.prepare<[string, number, number], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d
       WHERE d.pilot_id = ? AND d.deleted_at IS NULL AND d.seq > ? ORDER BY d.seq LIMIT ?`,
    ),
    update: db.prepare(
      `UPDATE devices SET name = ?, model = ?, firmware_version = ?, metadata = ?, updated_at = ?
       WHERE id = ? AND deleted_at IS NULL`,
    ),
    delete: db.prepare(
      'UPDATE devices SET deleted_at = ?, secret_hash = NULL, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
    ),
    rotate: db.prepare(
      'UPDATE devices SET secret_hash = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
    ),
    insertChange: db.prepare('INSERT INTO credential_changes (device_id, at) VALUES (?, ?)'),
    credential: db.prepare<[string], { id: string; pilot_id: string; secret_hash: string }>(
      'SELECT id, pilot_id, secret_hash FROM devices WHERE id = ? AND deleted_at IS NULL AND secret_hash IS NOT NULL',
    ),
    pilotOf: db.prepare<[string], { pilot_id: string }>('SELECT pilot_id FROM devices WHERE id = ?'),
    recent: db.prepare<[number], { id: string; pilot_id: string; secret_hash: string }>(
      `SELECT id, pilot_id, secret_hash FROM devices
       WHERE deleted_at IS NULL AND secret_hash IS NOT NULL AND last_seen_at IS NOT NULL
       ORDER BY last_seen_at DESC LIMIT ?`,
    ),
  };
}
