/** Key types per pilot and distinct keys per device, with their caps, in SQLite (`key_types`, `device_keys`). */
import type { KeyCaps, KeyClaim, KeyTypeStore, ValueType } from '../types.js';
import type { Db } from './db.js';

export function sqliteKeyTypes(db: Db): KeyTypeStore {
  const s = statements(db);

  // Fixed by the migration that created device_keys: devices up to this seq are incomplete.
  const completeAfter = Number(s.completeAfter.get()?.value ?? 0);

  const claimTypesTx = db.transaction((pilotId: string, keys: Map<string, ValueType>) => {
    const stored = new Map<string, ValueType>();
    for (const [key, type] of keys) {
      s.claimType.run(pilotId, key, type);
      const row = s.pilotType.get(pilotId, key);
      if (row) stored.set(key, row.type);
    }
    return stored;
  });

  const claimDeviceTx = db.transaction(
    (pilotId: string, deviceId: string, keys: Map<string, ValueType>, caps: KeyCaps): KeyClaim => {
      const types = new Map<string, ValueType>();
      const refused = new Map<string, 'device' | 'pilot'>();
      let deviceCount = s.deviceCount.get(deviceId)?.n ?? 0;
      let pilotCount: number | undefined;
      for (const [key, type] of keys) {
        let stored = s.pilotType.get(pilotId, key)?.type;
        if (s.deviceHas.get(deviceId, key)) {
          if (stored !== undefined) types.set(key, stored);
          continue;
        }
        if (deviceCount >= caps.perDevice) {
          refused.set(key, 'device');
          continue;
        }
        if (stored === undefined) {
          pilotCount ??= s.pilotCount.get(pilotId)?.n ?? 0;
          if (pilotCount >= caps.perPilot) {
            refused.set(key, 'pilot');
            continue;
          }
          s.insertType.run(pilotId, key, type);
          pilotCount++;
          stored = type;
        }
        types.set(key, stored);
        // A value of another type is refused, so the device does not get the key from it.
        if (stored !== type) continue;
        s.insertKey.run(deviceId, key);
        deviceCount++;
      }
      return { types, refused };
    },
  );

  return {
    async getKeyTypes(pilotId, keys) {
      if (keys === undefined) return new Map(s.typesOf.all(pilotId).map((r) => [r.key, r.type]));
      const types = new Map<string, ValueType>();
      for (const key of keys) {
        const type = s.typeOf.get(pilotId, key)?.type;
        if (type !== undefined) types.set(key, type);
      }
      return types;
    },
    async claimKeyTypes(pilotId, keys) {
      if (keys.size === 0) return new Map();
      return claimTypesTx.immediate(pilotId, keys);
    },
    async getDeviceKeys(deviceId) {
      const seq = s.deviceSeq.get(deviceId)?.seq;
      const keys = new Map(s.keysOf.all(deviceId).map((r) => [r.key, r.type]));
      return { keys, complete: seq === undefined || seq > completeAfter };
    },
    async claimDeviceKeys(pilotId, deviceId, keys, caps) {
      if (keys.size === 0) return { types: new Map(), refused: new Map() };
      return claimDeviceTx.immediate(pilotId, deviceId, keys, caps);
    },
  };
}

function statements(db: Db) {
  return {
    typesOf: db.prepare<[string], { key: string; type: ValueType }>(
      'SELECT key, type FROM key_types WHERE pilot_id = ?',
    ),
    typeOf: db.prepare<[string, string], { type: ValueType }>(
      'SELECT type FROM key_types WHERE pilot_id = ? AND key = ?',
    ),
    claimType: db.prepare('INSERT OR IGNORE INTO key_types (pilot_id, key, type) VALUES (?, ?, ?)'),
    completeAfter: db.prepare<[], { value: string }>(
      "SELECT value FROM meta WHERE key = 'device_keys_complete_after_seq'",
    ),
    deviceSeq: db.prepare<[string], { seq: number }>('SELECT seq FROM devices WHERE id = ?'),
    // CROSS JOIN fixes the loop order: the device's few keys outside, not its pilot's thousands.
    keysOf: db.prepare<[string], { key: string; type: ValueType }>(
      `SELECT k.key, t.type FROM device_keys k CROSS JOIN devices d CROSS JOIN key_types t
       WHERE k.device_id = ? AND d.id = k.device_id AND t.pilot_id = d.pilot_id AND t.key = k.key`,
    ),
    deviceCount: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM device_keys WHERE device_id = ?',
    ),
    pilotCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM key_types WHERE pilot_id = ?'),
    deviceHas: db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM device_keys WHERE device_id = ? AND key = ?',
    ),
    pilotType: db.prepare<[string, string], { type: ValueType }>(
      'SELECT type FROM key_types WHERE pilot_id = ? AND key = ?',
    ),
    insertType: db.prepare('INSERT INTO key_types (pilot_id, key, type) VALUES (?, ?, ?)'),
    insertKey: db.prepare('INSERT INTO device_keys (device_id, key) VALUES (?, ?)'),
  };
}
