/**
 * Commands to devices and device twins, in PostgreSQL. Status changes are conditional updates, so of
 * two broker nodes or an API racing for one command exactly one wins; a twin is read `FOR UPDATE`
 * (its row created first when missing), changed in JS (core/twin.ts) and written in one transaction.
 */
import { newId } from '../../secrets.js';
import { emptyTwin } from '../../twin.js';
import {
  COMMAND_COLUMNS,
  type CommandRow,
  jsonText,
  TWIN_COLUMNS,
  type TwinRow,
  toCommand,
  toTwin,
  twinValues,
} from '../command-rows.js';
import { type CommandStore, TooManyOpenCommands, type TwinStore } from '../command-types.js';
import { decodeCursor } from '../errors.js';
import { page } from '../sqlite/db.js';
import { LOCK, lockFor, type Pool, type Queryable, tx } from './db.js';

async function one(q: Queryable, id: string) {
  const { rows } = await q.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = $1`, [id]);
  return rows[0] ? toCommand(rows[0]) : undefined;
}

export function pgCommands(pool: Pool): CommandStore {
  return {
    async createCommand(c) {
      return tx(pool, async (client) => {
        if (c.maxOpen !== undefined) {
          // One creator per device at a time, so concurrent requests cannot pass the cap together.
          await lockFor(client, LOCK.deviceCommands, c.deviceId);
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM commands WHERE device_id = $1 AND status IN ('queued', 'delivered')`,
            [c.deviceId],
          );
          if (rows[0]!.n >= c.maxOpen) throw new TooManyOpenCommands(c.maxOpen);
        }
        const { rows } = await client.query<CommandRow>(
          `INSERT INTO commands (id, device_id, pilot_id, name, params, ttl_ms, status, sent_by, queued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9) RETURNING ${COMMAND_COLUMNS}`,
          [
            newId('cmd'),
            c.deviceId,
            c.pilotId,
            c.name,
            jsonText(c.params),
            c.ttlMs,
            c.sentBy,
            c.now,
            c.now + c.ttlMs,
          ],
        );
        return toCommand(rows[0]!);
      });
    },
    async getCommand(deviceId, commandId) {
      const c = await one(pool, commandId);
      return c?.deviceId === deviceId ? c : undefined;
    },
    async listCommands(deviceId, req) {
      const before = decodeCursor('commands', req.cursor) ?? Number.MAX_SAFE_INTEGER;
      const { rows } = await pool.query<CommandRow>(
        `SELECT ${COMMAND_COLUMNS} FROM commands WHERE device_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
        [deviceId, before, req.limit + 1],
      );
      return page('commands', rows, req.limit, toCommand);
    },
    async pendingCommands(deviceId, now, limit) {
      const { rows } = await pool.query<CommandRow>(
        `SELECT ${COMMAND_COLUMNS} FROM commands
         WHERE device_id = $1 AND status = 'queued' AND expires_at > $2 ORDER BY seq LIMIT $3`,
        [deviceId, now, limit],
      );
      return rows.map(toCommand);
    },
    async markCommandDelivered(commandId, at) {
      const { rows } = await pool.query<CommandRow>(
        `UPDATE commands SET status = 'delivered', delivered_at = $1
         WHERE id = $2 AND status = 'queued' AND expires_at > $1 RETURNING ${COMMAND_COLUMNS}`,
        [at, commandId],
      );
      return rows[0] ? toCommand(rows[0]) : undefined;
    },
    async recordCommandResponse(deviceId, commandId, answer, at) {
      const { rows } = await pool.query<CommandRow>(
        `UPDATE commands SET status = $1, finished_at = $2, result = $3, delivered_at = coalesce(delivered_at, $2)
         WHERE id = $4 AND device_id = $5 AND status IN ('queued', 'delivered') AND expires_at > $2
         RETURNING ${COMMAND_COLUMNS}`,
        [answer.ok ? 'succeeded' : 'failed', at, jsonText(answer.result), commandId, deviceId],
      );
      if (rows[0]) return { outcome: 'recorded', command: toCommand(rows[0]) };
      const command = await one(pool, commandId);
      if (!command || command.deviceId !== deviceId) return { outcome: 'unknown' };
      const answered = command.status === 'succeeded' || command.status === 'failed';
      return { outcome: answered ? 'duplicate' : 'closed', command };
    },
    async cancelCommand(deviceId, commandId, at) {
      const { rowCount } = await pool.query(
        `UPDATE commands SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND device_id = $3 AND status = 'queued'`,
        [at, commandId, deviceId],
      );
      const command = await one(pool, commandId);
      if (!command || command.deviceId !== deviceId) return undefined;
      return { cancelled: rowCount === 1, command };
    },
    async expireCommands(now, limit) {
      // SKIP LOCKED: nodes sweeping together each take other rows; none waits on another.
      const { rows } = await pool.query<CommandRow>(
        `UPDATE commands SET status = 'expired', finished_at = $1
         WHERE id IN (SELECT id FROM commands WHERE status IN ('queued', 'delivered') AND expires_at <= $1
                      ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           AND status IN ('queued', 'delivered')
         RETURNING ${COMMAND_COLUMNS}`,
        [now, limit],
      );
      return rows.map(toCommand);
    },
  };
}

export function pgTwins(pool: Pool): TwinStore {
  return {
    async getTwin(deviceId) {
      const { rows } = await pool.query<TwinRow>(`SELECT ${TWIN_COLUMNS} FROM twins WHERE device_id = $1`, [
        deviceId,
      ]);
      return rows[0] ? toTwin(rows[0]) : emptyTwin(deviceId);
    },
    async updateTwin(deviceId, change) {
      return tx(pool, async (client) => {
        // The row must exist to be locked: two first writers would otherwise both read "empty".
        await client.query(
          `INSERT INTO twins (${TWIN_COLUMNS}) VALUES ($1, '{}', '{}', '{}', '{}', 0, 0, 0)
           ON CONFLICT (device_id) DO NOTHING`,
          [deviceId],
        );
        const { rows } = await client.query<TwinRow>(
          `SELECT ${TWIN_COLUMNS} FROM twins WHERE device_id = $1 FOR UPDATE`,
          [deviceId],
        );
        const current = toTwin(rows[0]!);
        const next = change(current);
        if (next === current) return current;
        await client.query(
          `UPDATE twins SET desired = $2, reported = $3, desired_meta = $4, reported_meta = $5, version = $6,
             reported_version = $7, updated_at = $8 WHERE device_id = $1`,
          twinValues(next),
        );
        return next;
      });
    },
  };
}
