/**
 * What only the PostgreSQL registry (core/registry/postgres) has to prove, on a real server: the
 * migrations run once when several processes start together, a newer schema is refused, an older one
 * is upgraded with its data, the credential change log never skips a change that commits late, key
 * caps and first-writer-wins hold under concurrent claims from several pools, and the store outlives
 * a server restart.
 * The store contract itself runs in test/registry-store.test.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { PG_MIGRATIONS } from '../core/registry/postgres/migrations.js';
import type { RegistryStore, ValueType } from '../core/registry/types.js';
import { hashSecret } from '../core/secrets.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.dispose());

async function open(url: string): Promise<RegistryStore> {
  const store = await openPostgresRegistry({ url, max: 4 });
  onTestFinished(() => store.close());
  return store;
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

async function pilotWithDevices(store: RegistryStore, n: number) {
  const partner = await store.createPartner(
    { name: `p${n}`, country: 'DE', kind: 'both' },
    hashSecret(`k${n}`),
  );
  const pilot = await store.createPilot({ name: 'p', memberIds: [partner.id] });
  const devices: string[] = [];
  for (let i = 0; i < n; i++) devices.push((await store.createDevice(pilot.id, { name: `d${i}` }, 'h')).id);
  return { pilotId: pilot.id, devices };
}

describe('postgres registry: schema', () => {
  it('migrates once when five processes open a fresh database together', async () => {
    const url = await postgres.freshDatabase('migrate');
    const stores = await Promise.all(Array.from({ length: 5 }, () => open(url)));
    const rows = await sql<{ version: number }>(
      url,
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    // Every one of them works on the one schema.
    const { pilotId } = await pilotWithDevices(stores[0]!, 1);
    expect((await stores[4]!.listDevices(pilotId, { limit: 10 })).items).toHaveLength(1);
  });

  it('refuses a database from a newer version of the code', async () => {
    const url = await postgres.freshDatabase('newer');
    await (await open(url)).close();
    await sql(url, `INSERT INTO schema_migrations VALUES (${PG_MIGRATIONS.length + 1}, 0)`);
    await expect(openPostgresRegistry({ url })).rejects.toThrow(/newer/);
  });

  it('keeps the device errors a version-3 schema held as text when they become bytes', async () => {
    const url = await postgres.freshDatabase('upgrade');
    const older = PG_MIGRATIONS.slice(0, 3).map(
      (m, i) => `${m}; INSERT INTO schema_migrations VALUES (${i + 1}, 0);`,
    );
    await sql(
      url,
      `CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL);
      ${older.join('\n')}
      INSERT INTO device_errors (device_id, at, reason, payload_prefix)
      VALUES ('dev_old', 5, 'not JSON: Ünexpected', '{"t": "Grüße 🌡"');`,
    );
    const store = await open(url);
    expect((await store.listDeviceErrors('dev_old', { limit: 5 })).items).toEqual([
      { id: 1, deviceId: 'dev_old', at: 5, reason: 'not JSON: Ünexpected', payloadPrefix: '{"t": "Grüße 🌡"' },
    ]);
  });
});

describe('postgres registry: concurrency across processes', () => {
  it('a broker polling the change log sees every rotation, also ones that commit late', async () => {
    const url = await postgres.freshDatabase('changes');
    const [api1, api2, broker] = [await open(url), await open(url), await open(url)];
    const { devices } = await pilotWithDevices(api1, 40);
    let since = (await broker.credentialChangesSince(-1)).lastChange;
    const seen = new Set<string>();
    let rotating = true;
    const poll = async () => {
      while (rotating) {
        const changes = await broker.credentialChangesSince(since);
        since = changes.lastChange;
        for (const id of changes.deviceIds) seen.add(id);
      }
    };
    const rotations = devices.map((id, i) =>
      (i % 2 ? api1 : api2).rotateDeviceSecret(id, hashSecret(`n${i}`)),
    );
    const polling = poll();
    await Promise.all(rotations);
    rotating = false;
    await polling;
    const last = await broker.credentialChangesSince(since);
    for (const id of last.deviceIds) seen.add(id);
    expect([...seen].sort()).toEqual([...devices].sort());
  });

  it('key caps and first-writer-wins hold under concurrent claims from several pools', async () => {
    const url = await postgres.freshDatabase('keys');
    const stores = [await open(url), await open(url), await open(url)];
    const { pilotId, devices } = await pilotWithDevices(stores[0]!, 12);
    const caps = { perDevice: 4, perPilot: 10 };
    const claims = devices.flatMap((deviceId, d) =>
      [0, 1].map((round) => {
        // Overlapping keys, and `shared` asked for with a different type by every device.
        const keys = new Map<string, ValueType>([
          ['shared', d % 2 ? 'string' : 'number'],
          ...Array.from({ length: 3 }, (_, k): [string, ValueType] => [`k${(d + k + round) % 15}`, 'number']),
        ]);
        return stores[(d + round) % 3]!.claimDeviceKeys(pilotId, deviceId, keys, caps);
      }),
    );
    const results = await Promise.all(claims);
    const pilotTypes = await stores[0]!.getKeyTypes(pilotId);
    expect(pilotTypes.size).toBe(caps.perPilot);
    const sharedTypes = new Set(results.map((r) => r.types.get('shared')).filter(Boolean));
    expect(sharedTypes.size).toBe(1); // one first writer, every claim told its type
    expect([...sharedTypes][0]).toBe(pilotTypes.get('shared'));
    for (const deviceId of devices) {
      const { keys } = await stores[1]!.getDeviceKeys(deviceId);
      expect(keys.size).toBeLessThanOrEqual(caps.perDevice);
      for (const key of keys.keys()) expect(pilotTypes.has(key)).toBe(true);
    }
    expect(results.some((r) => [...r.refused.values()].includes('pilot'))).toBe(true);
  });
});

describe('postgres registry: server restart', () => {
  it('fails while PostgreSQL is down and works again after it restarts, with its data', async () => {
    const own = await startTestPostgres({ durable: true });
    onTestFinished(() => own.dispose());
    const url = await own.createDatabase('platform');
    const store = await openPostgresRegistry({ url, max: 2, connectionTimeoutMillis: 1000 });
    onTestFinished(() => store.close());
    const { devices } = await pilotWithDevices(store, 1);
    await own.stop();
    await expect(store.getDeviceCredential(devices[0]!)).rejects.toThrow();
    await own.restart();
    expect((await store.getDeviceCredential(devices[0]!))?.secretHash).toBe('h');
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
