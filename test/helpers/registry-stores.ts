/**
 * The registry stores the API suites run on (issue 12): SQLite in a temp dir, and PostgreSQL on one
 * server per test file (started when a test first asks for it, stopped in afterAll). Each API gets a
 * schema of its own (search_path in the URL, as a deployment may set it), so tests stay independent;
 * a schema costs a fraction of a database. Call `describe.each(registryStores())('$kind', ...)`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openPostgresRegistry } from '../../core/registry/postgres/index.js';
import { startTestApi, type TestApi } from './api-app.js';
import { startTestPostgres, type TestPostgres } from './postgres.js';

type ApiOptions = Omit<NonNullable<Parameters<typeof startTestApi>[0]>, 'registry'>;

export interface RegistryStoreKind {
  kind: 'sqlite' | 'postgres';
  /** A real API over a fresh, empty registry of this kind. */
  startApi(opts?: ApiOptions): Promise<TestApi>;
}

/** One server and one database per file, started on first use. */
async function startFileDatabase(): Promise<{ server: TestPostgres; url: string }> {
  const server = await startTestPostgres();
  return { server, url: await server.freshDatabase('api') };
}

/** A new, empty schema in `url`'s database; returns a URL whose connections use only it. */
async function freshSchema(url: string): Promise<string> {
  const schema = `api_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  const withPath = new URL(url);
  withPath.searchParams.set('options', `-c search_path=${schema}`);
  return withPath.toString();
}

export function registryStores(): RegistryStoreKind[] {
  let postgres: ReturnType<typeof startFileDatabase> | undefined;
  afterAll(async () => {
    // A failed start has nothing to stop; the tests that needed it failed already.
    await (await postgres?.catch(() => undefined))?.server.dispose();
  });
  return [
    { kind: 'sqlite', startApi: (opts = {}) => startTestApi(opts) },
    {
      kind: 'postgres',
      async startApi(opts = {}) {
        postgres ??= startFileDatabase();
        const url = await freshSchema((await postgres).url);
        return startTestApi({ ...opts, registry: await openPostgresRegistry({ url, max: 4 }) });
      },
    },
  ];
}
