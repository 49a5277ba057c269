/**
 * Key types per pilot and distinct keys per device, with their caps, in PostgreSQL (`key_types`,
 * `device_keys`). Every write takes the pilot's advisory lock, so counts and caps hold across
 * processes (first writer wins) and claims of other pilots never wait.
 */
import type { KeyCaps, KeyClaim, KeyTypeStore, ValueType } from '../types.js';
import { LOCK, lockFor, type Pool, tx } from './db.js';

type Client = Parameters<Parameters<typeof tx>[1]>[0];

async function pilotTypes(client: Client, pilotId: string, keys: string[]): Promise<Map<string, ValueType>> {
  const { rows } = await client.query<{ key: string; type: ValueType }>(
    'SELECT key, type FROM key_types WHERE pilot_id = $1 AND key = ANY($2::text[])',
    [pilotId, keys],
  );
  return new Map(rows.map((r) => [r.key, r.type]));
}

async function count(client: Client, sql: string, id: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(sql, [id]);
  return rows[0]?.n ?? 0;
}

/** The claim under the pilot's lock: the same walk as the SQLite store's, then one insert per table. */
async function claimUnderLock(
  client: Client,
  pilotId: string,
  deviceId: string,
  keys: Map<string, ValueType>,
  caps: KeyCaps,
): Promise<KeyClaim> {
  const names = [...keys.keys()];
  const known = await pilotTypes(client, pilotId, names);
  const { rows } = await client.query<{ key: string }>(
    'SELECT key FROM device_keys WHERE device_id = $1 AND key = ANY($2::text[])',
    [deviceId, names],
  );
  const deviceHas = new Set(rows.map((r) => r.key));
  let deviceCount = await count(
    client,
    'SELECT count(*)::int AS n FROM device_keys WHERE device_id = $1',
    deviceId,
  );
  let pilotCount: number | undefined;
  const types = new Map<string, ValueType>();
  const refused = new Map<string, 'device' | 'pilot'>();
  const newTypes: [string, ValueType][] = [];
  const newDeviceKeys: string[] = [];
  for (const [key, type] of keys) {
    let stored = known.get(key);
    if (deviceHas.has(key)) {
      if (stored !== undefined) types.set(key, stored);
      continue;
    }
    if (deviceCount >= caps.perDevice) {
      refused.set(key, 'device');
      continue;
    }
    if (stored === undefined) {
      pilotCount ??= await count(
        client,
        'SELECT count(*)::int AS n FROM key_types WHERE pilot_id = $1',
        pilotId,
      );
      if (pilotCount >= caps.perPilot) {
        refused.set(key, 'pilot');
        continue;
      }
      newTypes.push([key, type]);
      pilotCount++;
      stored = type;
    }
    types.set(key, stored);
    // A value of another type is refused, so the device does not get the key from it.
    if (stored !== type) continue;
    newDeviceKeys.push(key);
    deviceCount++;
  }
  if (newTypes.length > 0) {
    await client.query(
      'INSERT INTO key_types (pilot_id, key, type) SELECT $1, * FROM unnest($2::text[], $3::text[])',
      [pilotId, newTypes.map(([k]) => k), newTypes.map(([, t]) => t)],
    );
  }
  if (newDeviceKeys.length > 0) {
    await client.query('INSERT INTO device_keys (device_id, key) SELECT $1, unnest($2::text[])', [
      deviceId,
      newDeviceKeys,
    ]);
  }
  return { types, refused };
}

export function pgKeyTypes(pool: Pool): KeyTypeStore {
  return {
    async getKeyTypes(pilotId, keys) {
      const { rows } = await pool.query<{ key: string; type: ValueType }>(
        keys === undefined
          ? 'SELECT key, type FROM key_types WHERE pilot_id = $1'
          : 'SELECT key, type FROM key_types WHERE pilot_id = $1 AND key = ANY($2::text[])',
        keys === undefined ? [pilotId] : [pilotId, [...keys]],
      );
      return new Map(rows.map((r) => [r.key, r.type]));
    },
    async claimKeyTypes(pilotId, keys) {
      if (keys.size === 0) return new Map();
      return tx(pool, async (client) => {
        await lockFor(client, LOCK.pilotKeys, pilotId);
        await client.query(
          `INSERT INTO key_types (pilot_id, key, type) SELECT $1, * FROM unnest($2::text[], $3::text[])
           ON CONFLICT DO NOTHING`,
          [pilotId, [...keys.keys()], [...keys.values()]],
        );
        return pilotTypes(client, pilotId, [...keys.keys()]);
      });
    },
    async getDeviceKeys(deviceId) {
      const { rows } = await pool.query<{ key: string; type: ValueType }>(
        `SELECT k.key, t.type FROM device_keys k JOIN devices d ON d.id = k.device_id
         JOIN key_types t ON t.pilot_id = d.pilot_id AND t.key = k.key WHERE k.device_id = $1`,
        [deviceId],
      );
      // This schema tracked device keys from its first version: every device's set is complete.
      return { keys: new Map(rows.map((r) => [r.key, r.type])), complete: true };
    },
    async claimDeviceKeys(pilotId, deviceId, keys, caps) {
      if (keys.size === 0) return { types: new Map(), refused: new Map() };
      return tx(pool, async (client) => {
        await lockFor(client, LOCK.pilotKeys, pilotId);
        return claimUnderLock(client, pilotId, deviceId, keys, caps);
      });
    },
  };
}
