/**
 * Commands to devices and device twins, in SQLite. Status changes are conditional updates (`WHERE
 * status = 'queued'`), so of two brokers or an API racing for one command exactly one wins.
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
import {
  type CommandRecord,
  type CommandStore,
  type NewCommand,
  TooManyOpenCommands,
  type TwinStore,
} from '../command-types.js';
import { decodeCursor } from '../errors.js';
import { type Db, page } from './db.js';

export function sqliteCommands(db: Db): CommandStore {
  const one = db.prepare<[string], CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`);
  const s = {
    insert: db.prepare(
      `INSERT INTO commands (id, device_id, pilot_id, name, params, ttl_ms, status, sent_by, queued_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
    ),
    ofDevice: db.prepare<[string, number, number], CommandRow>(
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE device_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    pending: db.prepare<[string, number, number], CommandRow>(
      `SELECT ${COMMAND_COLUMNS} FROM commands
       WHERE device_id = ? AND status = 'queued' AND expires_at > ? ORDER BY seq LIMIT ?`,
    ),
    deliver: db.prepare(
      `UPDATE commands SET status = 'delivered', delivered_at = ?
       WHERE id = ? AND status = 'queued' AND expires_at > ?`,
    ),
    answer: db.prepare(
      `UPDATE commands SET status = ?, finished_at = ?, result = ?, delivered_at = coalesce(delivered_at, ?)
       WHERE id = ? AND device_id = ? AND status IN ('queued', 'delivered') AND expires_at > ?`,
    ),
    cancel: db.prepare(
      `UPDATE commands SET status = 'cancelled', finished_at = ? WHERE id = ? AND device_id = ? AND status = 'queued'`,
    ),
    overdue: db.prepare<[number, number], CommandRow>(
      `SELECT ${COMMAND_COLUMNS} FROM commands
       WHERE status IN ('queued', 'delivered') AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
    ),
    open: db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM commands WHERE device_id = ? AND status IN ('queued', 'delivered')`,
    ),
    expire: db.prepare(
      `UPDATE commands SET status = 'expired', finished_at = ? WHERE id = ? AND status IN ('queued', 'delivered')`,
    ),
  };
  const get = (id: string) => {
    const row = one.get(id);
    return row ? toCommand(row) : undefined;
  };
  const createTx = db.transaction((c: NewCommand): CommandRecord => {
    if (c.maxOpen !== undefined && s.open.get(c.deviceId)!.n >= c.maxOpen)
      throw new TooManyOpenCommands(c.maxOpen);
    const id = newId('cmd');
    s.insert.run(
      id,
      c.deviceId,
      c.pilotId,
      c.name,
      jsonText(c.params),
      c.ttlMs,
      c.sentBy,
      c.now,
      c.now + c.ttlMs,
    );
    return get(id)!;
  });
  const expireTx = db.transaction((now: number, limit: number): CommandRecord[] => {
    const rows = s.overdue.all(now, limit);
    for (const r of rows) s.expire.run(now, r.id);
    return rows.map((r) => ({ ...toCommand(r), status: 'expired' as const, finishedAt: now }));
  });

  return {
    async createCommand(c) {
      return createTx.immediate(c);
    },
    async getCommand(deviceId, commandId) {
      const c = get(commandId);
      return c?.deviceId === deviceId ? c : undefined;
    },
    async listCommands(deviceId, req) {
      // Newest first; the cursor is the seq of the last command returned.
      const before = decodeCursor('commands', req.cursor) ?? Number.MAX_SAFE_INTEGER;
      return page('commands', s.ofDevice.all(deviceId, before, req.limit + 1), req.limit, toCommand);
    },
    async pendingCommands(deviceId, now, limit) {
      return s.pending.all(deviceId, now, limit).map(toCommand);
    },
    async markCommandDelivered(commandId, at) {
      return s.deliver.run(at, commandId, at).changes === 1 ? get(commandId) : undefined;
    },
    async recordCommandResponse(deviceId, commandId, answer, at) {
      const status = answer.ok ? 'succeeded' : 'failed';
      const changed = s.answer.run(status, at, jsonText(answer.result), at, commandId, deviceId, at).changes;
      const command = get(commandId);
      if (!command || command.deviceId !== deviceId) return { outcome: 'unknown' };
      if (changed === 1) return { outcome: 'recorded', command };
      const answered = command.status === 'succeeded' || command.status === 'failed';
      return { outcome: answered ? 'duplicate' : 'closed', command };
    },
    async cancelCommand(deviceId, commandId, at) {
      const changed = s.cancel.run(at, commandId, deviceId).changes === 1;
      const command = get(commandId);
      if (!command || command.deviceId !== deviceId) return undefined;
      return { cancelled: changed, command };
    },
    async expireCommands(now, limit) {
      return expireTx.immediate(now, limit);
    },
  };
}

export function sqliteTwins(db: Db): TwinStore {
  const s = {
    get: db.prepare<[string], TwinRow>(`SELECT ${TWIN_COLUMNS} FROM twins WHERE device_id = ?`),
    put: db.prepare(`INSERT OR REPLACE INTO twins (${TWIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
  };
  const read = (deviceId: string) => {
    const row = s.get.get(deviceId);
    return row ? toTwin(row) : emptyTwin(deviceId);
  };
  const updateTx = db.transaction((deviceId: string, change: Parameters<TwinStore['updateTwin']>[1]) => {
    const current = read(deviceId);
    const next = change(current);
    if (next !== current) s.put.run(...twinValues(next));
    return next;
  });
  return {
    async getTwin(deviceId) {
      return read(deviceId);
    },
    async updateTwin(deviceId, change) {
      return updateTx.immediate(deviceId, change);
    },
  };
}
