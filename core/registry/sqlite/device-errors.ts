/** Refused messages per device, in SQLite, trimmed to the newest `kept` of each device as they arrive. */
import { decodeCursor } from '../errors.js';
import type { DeviceErrorLog, DeviceErrorRecord, NewDeviceError } from '../types.js';
import { type Db, page } from './db.js';

type ErrorRow = { id: number; device_id: string; at: number; reason: string; payload_prefix: string };

const toErrorRecord = (r: ErrorRow): DeviceErrorRecord => ({
  id: r.id,
  deviceId: r.device_id,
  at: r.at,
  reason: r.reason,
  payloadPrefix: r.payload_prefix,
});

export function sqliteDeviceErrors(db: Db, kept: number): DeviceErrorLog {
  const s = {
    insert: db.prepare(
      'INSERT INTO device_errors (device_id, at, reason, payload_prefix) VALUES (?, ?, ?, ?)',
    ),
    // Deletes everything at or below the id of the first row past the newest `kept`.
    trim: db.prepare(
      `DELETE FROM device_errors WHERE device_id = ? AND id <= (
         SELECT id FROM device_errors WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
    ofDevice: db.prepare<[string, number, number], ErrorRow>(
      `SELECT id, device_id, at, reason, payload_prefix FROM device_errors
       WHERE device_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    ),
  };
  const recordTx = db.transaction((errors: readonly NewDeviceError[]) => {
    const touched = new Set<string>();
    for (const e of errors) {
      s.insert.run(e.deviceId, e.at, e.reason, e.payloadPrefix);
      touched.add(e.deviceId);
    }
    for (const deviceId of touched) s.trim.run(deviceId, deviceId, kept);
  });

  return {
    async recordDeviceErrors(errors) {
      if (errors.length > 0) recordTx.immediate(errors);
    },
    async listDeviceErrors(deviceId, req) {
      // Newest first; the cursor is the id of the last error returned.
      const before = decodeCursor('errors', req.cursor) ?? Number.MAX_SAFE_INTEGER;
      const rows = s.ofDevice.all(deviceId, before, req.limit + 1).map((r) => ({ ...r, seq: r.id }));
      return page('errors', rows, req.limit, toErrorRecord);
    },
  };
}
