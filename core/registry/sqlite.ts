/**
 * The registry in SQLite (better-sqlite3). All of the registry's SQL lives here and in
 * migrations.ts, so a Postgres store later is a second implementation of `RegistryStore`.
 *
 * The broker, ingest and API may be separate processes opening the same file: WAL lets readers run
 * beside one writer, `busy_timeout` makes a writer wait for the lock instead of failing, and every
 * read-then-write transaction is IMMEDIATE (takes the write lock first) so it cannot fail with
 * SQLITE_BUSY_SNAPSHOT when another process wrote in between.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { prepareSqliteFile } from '../private-files.js';
import { newId } from '../secrets.js';
import { ConflictError, decodeCursor, encodeCursor } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import { sqliteDeviceKeys } from './sqlite-device-keys.js';
import type {
  Device,
  DeviceErrorRecord,
  NewDevice,
  Page,
  Partner,
  PartnerKind,
  Pilot,
  RegistryStore,
  ValueType,
} from './types.js';

export interface SqliteRegistryOptions {
  /** Device errors kept per device; older ones are deleted as new ones arrive. Default 200. */
  deviceErrorsKept?: number;
}

type PartnerRow = { id: string; name: string; country: string; kind: PartnerKind; created_at: number };
type PilotRow = { seq: number; id: string; name: string; description: string | null; created_at: number };
type DeviceRow = {
  seq: number;
  id: string;
  pilot_id: string;
  name: string;
  model: string | null;
  firmware_version: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
  online: number;
  last_seen_at: number | null;
};
type ErrorRow = { id: number; device_id: string; at: number; reason: string; payload_prefix: string };

const DEVICE_COLUMNS =
  'd.seq, d.id, d.pilot_id, d.name, d.model, d.firmware_version, d.metadata, d.created_at, d.updated_at, d.online, d.last_seen_at';
/** Rows returned by one credentialChangesSince call; the caller polls again for the rest. */
const CHANGES_BATCH = 10_000;

/**
 * The platform's registry in DATA_DIR, as every component opens it: one file shared by the broker,
 * ingest and the API (also as separate processes), trimmed to DEVICE_ERRORS_KEPT errors per device
 * by whichever of them records one.
 */
export function openDataDirRegistry(dataDir: string, deviceErrorsKept: number): RegistryStore {
  return openSqliteRegistry(path.join(dataDir, 'registry.db'), { deviceErrorsKept });
}

/** Opens (creating if needed) the registry at `file` and applies pending migrations. */
export function openSqliteRegistry(file: string, opts: SqliteRegistryOptions = {}): RegistryStore {
  const errorsKept = opts.deviceErrorsKept ?? 200;
  // 0600, with its -wal and -shm (core/private-files.ts): the registry holds key and secret digests.
  if (file !== ':memory:') prepareSqliteFile(file);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a process crash; a power cut may lose the
  // last ones. Registry writes are rare and re-doable by the caller.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const deviceKeys = sqliteDeviceKeys(db);

  const s = {
    insertPartner: db.prepare(
      'INSERT INTO partners (id, name, country, kind, api_key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    partnerById: db.prepare<[string], PartnerRow>(
      'SELECT id, name, country, kind, created_at FROM partners WHERE id = ?',
    ),
    partnerByKeyHash: db.prepare<[string], PartnerRow>(
      'SELECT id, name, country, kind, created_at FROM partners WHERE api_key_hash = ?',
    ),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    insertPilot: db.prepare('INSERT INTO pilots (id, name, description, created_at) VALUES (?, ?, ?, ?)'),
    insertMember: db.prepare(
      'INSERT OR IGNORE INTO pilot_members (pilot_id, partner_id, added_at) VALUES (?, ?, ?)',
    ),
    membersOf: db.prepare<[string], { partner_id: string }>(
      'SELECT partner_id FROM pilot_members WHERE pilot_id = ? ORDER BY seq',
    ),
    pilotById: db.prepare<[string], PilotRow>(
      'SELECT seq, id, name, description, created_at FROM pilots WHERE id = ?',
    ),
    pilotForPartner: db.prepare<[string, string], PilotRow>(
      `SELECT p.seq, p.id, p.name, p.description, p.created_at FROM pilots p
       JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = ? WHERE p.id = ?`,
    ),
    pilotsForPartner: db.prepare<[string, number, number], PilotRow>(
      `SELECT p.seq, p.id, p.name, p.description, p.created_at FROM pilots p
       JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = ?
       WHERE p.seq > ? ORDER BY p.seq LIMIT ?`,
    ),
    insertDevice: db.prepare(
      `INSERT INTO devices (id, pilot_id, name, model, firmware_version, metadata, secret_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    liveDevice: db.prepare<[string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ? AND d.deleted_at IS NULL`,
    ),
    deviceForPartner: db.prepare<[string, string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d
       JOIN pilot_members m ON m.pilot_id = d.pilot_id AND m.partner_id = ?
       WHERE d.id = ? AND d.deleted_at IS NULL`,
    ),
    devicesOfPilot: db.prepare<[string, number, number], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d
       WHERE d.pilot_id = ? AND d.deleted_at IS NULL AND d.seq > ? ORDER BY d.seq LIMIT ?`,
    ),
    updateDevice: db.prepare(
      `UPDATE devices SET name = ?, model = ?, firmware_version = ?, metadata = ?, updated_at = ?
       WHERE id = ? AND deleted_at IS NULL`,
    ),
    deleteDevice: db.prepare(
      'UPDATE devices SET deleted_at = ?, secret_hash = NULL, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
    ),
    rotateSecret: db.prepare(
      'UPDATE devices SET secret_hash = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
    ),
    insertChange: db.prepare('INSERT INTO credential_changes (device_id, at) VALUES (?, ?)'),
    changesSince: db.prepare<[number, number], { seq: number; device_id: string }>(
      'SELECT seq, device_id FROM credential_changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    lastChange: db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM credential_changes'),
    credential: db.prepare<[string], { id: string; pilot_id: string; secret_hash: string }>(
      'SELECT id, pilot_id, secret_hash FROM devices WHERE id = ? AND deleted_at IS NULL AND secret_hash IS NOT NULL',
    ),
    allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
    presence: db.prepare(
      `UPDATE devices SET online = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?`,
    ),
    devicePilot: db.prepare<[string], { pilot_id: string }>('SELECT pilot_id FROM devices WHERE id = ?'),
    keyTypes: db.prepare<[string], { key: string; type: ValueType }>(
      'SELECT key, type FROM key_types WHERE pilot_id = ?',
    ),
    claimKeyType: db.prepare('INSERT OR IGNORE INTO key_types (pilot_id, key, type) VALUES (?, ?, ?)'),
    keyType: db.prepare<[string, string], { type: ValueType }>(
      'SELECT type FROM key_types WHERE pilot_id = ? AND key = ?',
    ),
    insertError: db.prepare(
      'INSERT INTO device_errors (device_id, at, reason, payload_prefix) VALUES (?, ?, ?, ?)',
    ),
    // Keeps the newest `errorsKept` rows of a device: deletes everything at or below the id of the
    // first row past the limit.
    trimErrors: db.prepare(
      `DELETE FROM device_errors WHERE device_id = ? AND id <= (
         SELECT id FROM device_errors WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
    errorsOfDevice: db.prepare<[string, number, number], ErrorRow>(
      `SELECT id, device_id, at, reason, payload_prefix FROM device_errors
       WHERE device_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    ),
    ping: db.prepare('SELECT 1'),
  };

  const toPartner = (r: PartnerRow): Partner => ({
    id: r.id,
    name: r.name,
    country: r.country,
    kind: r.kind,
    createdAt: r.created_at,
  });
  const toPilot = (r: PilotRow): Pilot => ({
    id: r.id,
    name: r.name,
    description: r.description,
    memberIds: s.membersOf.all(r.id).map((m) => m.partner_id),
    createdAt: r.created_at,
  });
  const toDevice = (r: DeviceRow): Device => ({
    id: r.id,
    pilotId: r.pilot_id,
    name: r.name,
    model: r.model,
    firmwareVersion: r.firmware_version,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    status: { online: r.online === 1, lastSeenAt: r.last_seen_at },
  });

  /** Keyset page: fetch one row more than asked to learn whether another page exists. */
  function page<R extends { seq: number }, T>(
    list: string,
    rows: R[],
    limit: number,
    map: (r: R) => T,
  ): Page<T> {
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    const last = kept[kept.length - 1];
    return { items: kept.map(map), nextCursor: more && last ? encodeCursor(list, last.seq) : null };
  }

  const createPilotTx = db.transaction(
    (input: { name: string; description?: string | null | undefined; memberIds: string[] }): string => {
      const id = newId('plt');
      const now = Date.now();
      s.insertPilot.run(id, input.name, input.description ?? null, now);
      for (const memberId of input.memberIds) s.insertMember.run(id, memberId, now);
      return id;
    },
  );

  const changeSecretTx = db.transaction((deviceId: string, secretHash: string | null): boolean => {
    const now = Date.now();
    const result =
      secretHash === null
        ? s.deleteDevice.run(now, now, deviceId)
        : s.rotateSecret.run(secretHash, now, deviceId);
    if (result.changes === 0) return false;
    s.insertChange.run(deviceId, now);
    return true;
  });

  const presenceTx = db.transaction(
    (updates: { deviceId: string; online: boolean; lastSeenAt: number }[]) => {
      for (const u of updates) s.presence.run(u.online ? 1 : 0, u.lastSeenAt, u.deviceId);
    },
  );

  const claimTx = db.transaction((pilotId: string, keys: Map<string, ValueType>) => {
    const stored = new Map<string, ValueType>();
    for (const [key, type] of keys) {
      s.claimKeyType.run(pilotId, key, type);
      const row = s.keyType.get(pilotId, key);
      if (row) stored.set(key, row.type);
    }
    return stored;
  });

  const recordErrorsTx = db.transaction(
    (errors: { deviceId: string; at: number; reason: string; payloadPrefix: string }[]) => {
      const touched = new Set<string>();
      for (const e of errors) {
        s.insertError.run(e.deviceId, e.at, e.reason, e.payloadPrefix);
        touched.add(e.deviceId);
      }
      for (const deviceId of touched) s.trimErrors.run(deviceId, deviceId, errorsKept);
    },
  );

  const updateTx = db.transaction((deviceId: string, patch: Partial<NewDevice>): Device | undefined => {
    const row = s.liveDevice.get(deviceId);
    if (!row) return undefined;
    const next = {
      name: patch.name !== undefined ? patch.name : row.name,
      model: patch.model !== undefined ? patch.model : row.model,
      firmwareVersion: patch.firmwareVersion !== undefined ? patch.firmwareVersion : row.firmware_version,
      metadata: patch.metadata !== undefined ? JSON.stringify(patch.metadata) : row.metadata,
    };
    s.updateDevice.run(next.name, next.model, next.firmwareVersion, next.metadata, Date.now(), deviceId);
    const updated = s.liveDevice.get(deviceId);
    return updated ? toDevice(updated) : undefined;
  });

  return {
    createPartner(input, apiKeyHash) {
      const id = newId('prt');
      const now = Date.now();
      try {
        s.insertPartner.run(id, input.name, input.country, input.kind, apiKeyHash, now);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError(`a partner named "${input.name}" already exists`);
        }
        throw err;
      }
      return { id, name: input.name, country: input.country, kind: input.kind, createdAt: now };
    },
    getPartner(partnerId) {
      const row = s.partnerById.get(partnerId);
      return row ? toPartner(row) : undefined;
    },
    findPartnerByApiKeyHash(apiKeyHash) {
      const row = s.partnerByKeyHash.get(apiKeyHash);
      return row ? toPartner(row) : undefined;
    },

    getAdminKeyHash() {
      return s.getMeta.get('admin_key_hash')?.value;
    },
    setAdminKeyHash(hash) {
      s.setMeta.run('admin_key_hash', hash);
    },

    createPilot(input) {
      const id = createPilotTx.immediate(input);
      return toPilot(s.pilotById.get(id)!);
    },
    getPilotForPartner(pilotId, partnerId) {
      const row = s.pilotForPartner.get(partnerId, pilotId);
      return row ? toPilot(row) : undefined;
    },
    listPilotsForPartner(partnerId, req) {
      const after = decodeCursor('pilots', req.cursor) ?? 0;
      return page('pilots', s.pilotsForPartner.all(partnerId, after, req.limit + 1), req.limit, toPilot);
    },
    addPilotMember(pilotId, partnerId) {
      return s.insertMember.run(pilotId, partnerId, Date.now()).changes > 0;
    },

    createDevice(pilotId, input, secretHash) {
      const id = newId('dev');
      const now = Date.now();
      s.insertDevice.run(
        id,
        pilotId,
        input.name,
        input.model ?? null,
        input.firmwareVersion ?? null,
        JSON.stringify(input.metadata ?? {}),
        secretHash,
        now,
        now,
      );
      return toDevice(s.liveDevice.get(id)!);
    },
    getDeviceForPartner(deviceId, partnerId) {
      const row = s.deviceForPartner.get(partnerId, deviceId);
      return row ? toDevice(row) : undefined;
    },
    listDevices(pilotId, req) {
      const after = decodeCursor('devices', req.cursor) ?? 0;
      return page('devices', s.devicesOfPilot.all(pilotId, after, req.limit + 1), req.limit, toDevice);
    },
    updateDevice(deviceId, patch) {
      return updateTx.immediate(deviceId, patch);
    },
    deleteDevice(deviceId) {
      return changeSecretTx.immediate(deviceId, null);
    },
    rotateDeviceSecret(deviceId, secretHash) {
      return changeSecretTx.immediate(deviceId, secretHash);
    },

    getDeviceCredential(deviceId) {
      const row = s.credential.get(deviceId);
      return row ? { deviceId: row.id, pilotId: row.pilot_id, secretHash: row.secret_hash } : undefined;
    },
    credentialChangesSince(since) {
      const rows = s.changesSince.all(since, CHANGES_BATCH);
      const last = rows[rows.length - 1];
      // With no newer rows, report the head, so a caller starting with since = -1 (or one whose
      // counter is ahead after a database reset) learns where to continue from.
      const lastChange = last ? last.seq : (s.lastChange.get()?.seq ?? 0);
      return { lastChange, deviceIds: [...new Set(rows.map((r) => r.device_id))] };
    },
    recordPresence(updates) {
      if (updates.length > 0) presenceTx.immediate(updates);
    },
    markAllOffline() {
      s.allOffline.run();
    },

    getDevicePilot(deviceId) {
      return s.devicePilot.get(deviceId)?.pilot_id;
    },
    getKeyTypes(pilotId) {
      return new Map(s.keyTypes.all(pilotId).map((r) => [r.key, r.type]));
    },
    claimKeyTypes(pilotId, keys) {
      if (keys.size === 0) return new Map();
      return claimTx.immediate(pilotId, keys);
    },
    ...deviceKeys,

    recordDeviceErrors(errors) {
      if (errors.length > 0) recordErrorsTx.immediate(errors);
    },
    listDeviceErrors(deviceId, req) {
      // Newest first; the cursor is the id of the last error returned.
      const before = decodeCursor('errors', req.cursor) ?? Number.MAX_SAFE_INTEGER;
      const rows = s.errorsOfDevice.all(deviceId, before, req.limit + 1).map((r) => ({ ...r, seq: r.id }));
      return page('errors', rows, req.limit, toErrorRecord);
    },

    ping() {
      s.ping.get();
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function toErrorRecord(r: ErrorRow): DeviceErrorRecord {
  return { id: r.id, deviceId: r.device_id, at: r.at, reason: r.reason, payloadPrefix: r.payload_prefix };
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    const applied = db.pragma('user_version', { simple: true }) as number;
    if (applied > MIGRATIONS.length) {
      throw new Error(
        `registry schema version ${applied} is newer than this code knows (${MIGRATIONS.length}); upgrade the platform`,
      );
    }
    for (let v = applied; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
