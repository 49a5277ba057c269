/**
 * A cluster for the cluster part: a private Redis and PostgreSQL in the run directory, the run's
 * influxd (a database of its own), broker nodes and ingest workers as separate processes
 * (main/broker.ts, main/ingest.ts) configured as test/helpers/cluster.ts configures them, and the
 * counters the part reads: Redis' INFO commandstats/stats and PostgreSQL's pg_stat_database.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../core/influx/managed.js';
import { type ManagedPostgres, startManagedPostgres } from '../core/postgres/managed.js';
import { type ManagedRedis, startManagedRedis } from '../core/redis/managed.js';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { generateSecret } from '../core/secrets.js';
import { type ComponentProcess, startComponent } from '../test/helpers/cluster-process.js';
import { type BenchContext, type Fleet, registerFleet } from './fixtures.js';

export interface ClusterStack {
  redis: ManagedRedis;
  postgres: ManagedPostgres;
  brokers: ComponentProcess[];
  ingests: ComponentProcess[];
  mqttUrls: string[];
  fleet: Fleet;
  redisStats(): Promise<RedisStats>;
  pgStats(): Promise<PgStats>;
  close(): Promise<void>;
}

export interface RedisStats {
  /** Command name -> calls and microseconds spent, from INFO commandstats (INFO itself left out). */
  commands: Record<string, { calls: number; usec: number }>;
  netInputBytes: number;
  netOutputBytes: number;
}

/** Counters of the platform's database from pg_stat_database (flushed by backends within ~10 s). */
export interface PgStats {
  xactCommit: number;
  tupReturned: number;
  tupFetched: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
}

/** Starts Redis, PostgreSQL, registers `devices` devices, then `brokers` nodes and `ingests` workers. */
export async function startClusterStack(
  ctx: BenchContext,
  opts: { dir: string; brokers: number; ingests: number; devices: number; influxDatabase: string },
): Promise<ClusterStack> {
  const pgDir = path.join(opts.dir, 'postgres');
  mkdirSync(pgDir, { recursive: true });
  chmodSync(pgDir, 0o700);
  // Both as the platform runs them (Redis: AOF fsynced every second; PostgreSQL: default durability).
  const [redis, postgres] = await Promise.all([
    startManagedRedis({ dir: path.join(opts.dir, 'redis') }),
    startManagedPostgres({ dir: pgDir }),
  ]);
  const databaseUrl = await postgres.createDatabase('platform');
  const registry = await openPostgresRegistry({ url: databaseUrl, applicationName: 'bench' });
  let fleet: Fleet;
  try {
    fleet = await registerFleet(path.join(opts.dir, 'registration'), opts.devices, registry);
  } finally {
    await registry.close();
  }
  const ports = await Promise.all(Array.from({ length: opts.brokers }, () => freePort()));
  const base = {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    INFLUX_URL: ctx.influx.url,
    INFLUX_DATABASE: opts.influxDatabase,
    ADMIN_API_KEY: generateSecret(),
    SERVICE_SECRET: `svc-${randomBytes(16).toString('hex')}`,
    LOG_LEVEL: 'warn',
    MQTT_HOST: '127.0.0.1',
    // As bench/fixtures.ts sets it for the embedded platform (RESULTS.md's preamble says why).
    DEVICE_MAX_MESSAGES_PER_SECOND: '1000000',
  };
  const brokers: ComponentProcess[] = [];
  const ingests: ComponentProcess[] = [];
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  redisClient.on('error', () => {});
  const stack: ClusterStack = {
    redis,
    postgres,
    brokers,
    ingests,
    mqttUrls: ports.map((p) => `mqtt://127.0.0.1:${p}`),
    fleet,
    redisStats: () => redisStats(redisClient),
    pgStats: () => pgStats(postgres.url(), 'platform'),
    async close() {
      await Promise.all([...ingests, ...brokers].map((p) => p.kill('SIGTERM')));
      redisClient.disconnect();
      await Promise.all([redis.stop(), postgres.stop()]);
    },
  };
  try {
    for (let i = 0; i < opts.brokers; i++) {
      const env = {
        ...base,
        DATA_DIR: path.join(opts.dir, `broker-${i + 1}`),
        MQTT_PORT: String(ports[i]),
        BROKER_NODE_ID: `node-${i + 1}`,
      };
      brokers.push(await startComponent('broker', `broker node ${i + 1}`, env));
    }
    for (let w = 0; w < opts.ingests; w++) {
      const env = {
        ...base,
        DATA_DIR: path.join(opts.dir, `ingest-${w + 1}`),
        MQTT_PORT: String(ports[w % opts.brokers]),
        INGEST_WORKER_ID: `worker-${w + 1}`,
      };
      ingests.push(await startComponent('ingest', `ingest worker ${w + 1}`, env));
    }
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

async function redisStats(client: Redis): Promise<RedisStats> {
  const commandstats = await client.info('commandstats');
  const stats = await client.info('stats');
  const commands: RedisStats['commands'] = {};
  for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    commands[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  const num = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? Number.NaN);
  return {
    commands,
    netInputBytes: num('total_net_input_bytes'),
    netOutputBytes: num('total_net_output_bytes'),
  };
}

/** Read from the `postgres` database, so the reading itself is not counted in `database`'s figures. */
async function pgStats(superuserUrl: string, database: string): Promise<PgStats> {
  const client = new pg.Client({ connectionString: superuserUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted ' +
        'FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    const r = rows[0] ?? {};
    return {
      xactCommit: Number(r.xact_commit),
      tupReturned: Number(r.tup_returned),
      tupFetched: Number(r.tup_fetched),
      tupInserted: Number(r.tup_inserted),
      tupUpdated: Number(r.tup_updated),
      tupDeleted: Number(r.tup_deleted),
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** `after - before` of each command, calls and µs; commands not called in between are left out. */
export function commandDeltas(
  before: RedisStats,
  after: RedisStats,
): [string, { calls: number; usec: number }][] {
  return Object.entries(after.commands)
    .map(([name, a]): [string, { calls: number; usec: number }] => {
      const b = before.commands[name] ?? { calls: 0, usec: 0 };
      return [name, { calls: a.calls - b.calls, usec: a.usec - b.usec }];
    })
    .filter(([, d]) => d.calls > 0)
    .sort((x, y) => y[1].calls - x[1].calls);
}

export function pgDelta(before: PgStats, after: PgStats): PgStats {
  const out = {} as PgStats;
  for (const k of Object.keys(after) as (keyof PgStats)[]) out[k] = after[k] - before[k];
  return out;
}
