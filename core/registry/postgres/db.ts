/**
 * The registry's PostgreSQL pool and the helpers every aggregate file uses: transactions that retry
 * on deadlock or serialization failure, advisory locks that serialize one kind of write, and
 * bigint columns (epoch ms, seq) read as numbers.
 */
import pg from 'pg';

export type Pool = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

/** int8 as a JS number: our bigints are epoch milliseconds and sequence numbers, far below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  url: string;
  /** Connections per process. Default 10. */
  max?: number;
  /** How long a query waits for a connection (PostgreSQL away) before it fails. Default 5 s. */
  connectionTimeoutMillis?: number;
  applicationName?: string;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    application_name: options.applicationName ?? 'pilot-platform',
    types,
  });
  // An idle connection that the server closed (restart): the pool drops it; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)). */
export const LOCK = {
  migrations: 7_100_001,
  credentialChanges: 7_100_002,
  pilotKeys: 7_100_003,
  deviceCommands: 7_100_004,
} as const;

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

const ignore = () => {};

/**
 * A pooled connection whose 'error' event is handled while it is checked out: a server that goes away
 * between two queries of a transaction (a restart) would otherwise throw it as an uncaught exception.
 * The failure reaches the caller through the next query.
 */
export async function checkOut(pool: Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (!client.listeners('error').includes(ignore)) client.on('error', ignore);
  return client;
}

/** Runs `fn` in a transaction (READ COMMITTED), retried a few times on deadlock or serialization failure. */
export async function tx<T>(pool: Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await checkOut(pool);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (attempt >= 5 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    } finally {
      client.release();
    }
  }
}

/** Takes an advisory lock of `kind` on `name` until the transaction ends. */
export async function lockFor(client: pg.PoolClient, kind: number, name: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [kind, name]);
}

/** Whether an error is a unique violation of the named constraint or index. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}
