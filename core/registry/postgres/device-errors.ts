/**
 * Refused messages per device, in PostgreSQL, trimmed to the newest `kept` of each device as they arrive.
 * Reason and payload prefix are stored as UTF-8 bytes (bytea): they quote the device, NULs included.
 */
import { decodeCursor } from '../errors.js';
import { page } from '../sqlite/db.js';
import type { DeviceErrorLog, DeviceErrorRecord } from '../types.js';
import { type Pool, tx } from './db.js';

type ErrorRow = { id: number; device_id: string; at: number; reason: Buffer; payload_prefix: Buffer };

const toErrorRecord = (r: ErrorRow): DeviceErrorRecord => ({
  id: r.id,
  deviceId: r.device_id,
  at: r.at,
  reason: r.reason.toString('utf8'),
  payloadPrefix: r.payload_prefix.toString('utf8'),
});

export function pgDeviceErrors(pool: Pool, kept: number): DeviceErrorLog {
  return {
    async recordDeviceErrors(errors) {
      if (errors.length === 0) return;
      const touched = [...new Set(errors.map((e) => e.deviceId))].sort();
      await tx(pool, async (client) => {
        // One statement for the batch; unnest keeps the rows in order, so ids follow it.
        await client.query(
          `INSERT INTO device_errors (device_id, at, reason, payload_prefix)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[])`,
          [
            errors.map((e) => e.deviceId),
            errors.map((e) => e.at),
            errors.map((e) => Buffer.from(e.reason, 'utf8')),
            errors.map((e) => Buffer.from(e.payloadPrefix, 'utf8')),
          ],
        );
        // Deletes everything at or below the id of the first row past the newest `kept`.
        await client.query(
          `DELETE FROM device_errors e USING unnest($1::text[]) AS t(device_id)
           WHERE e.device_id = t.device_id AND e.id <= (
             SELECT id FROM device_errors WHERE device_id = t.device_id ORDER BY id DESC OFFSET $2 LIMIT 1)`,
          [touched, kept],
        );
      });
    },
    async listDeviceErrors(deviceId, req) {
      // Newest first; the cursor is the id of the last error returned.
      const before = decodeCursor('errors', req.cursor) ?? Number.MAX_SAFE_INTEGER;
      const { rows } = await pool.query<ErrorRow>(
        `SELECT id, device_id, at, reason, payload_prefix FROM device_errors
         WHERE device_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
        [deviceId, before, req.limit + 1],
      );
      return page(
        'errors',
        rows.map((r) => ({ ...r, seq: r.id })),
        req.limit,
        toErrorRecord,
      );
    },
  };
}
