/**
 * A local PostgreSQL 15 (Debian's `postgresql`) that the platform starts and owns: the cluster quick
 * start and the tests. Loopback only, SCRAM passwords (the superuser's generated into `dir`, 0600),
 * its unix socket in `dir`. As root it runs as the `postgres` user (initdb.ts).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../influx/managed.js';
import type { Logger } from '../log.js';
import {
  childExited,
  logTail,
  processNamed,
  readPidFile,
  removeDeadPidFile,
  spawnBound,
  stopStale,
  waitForExit,
  waitUntilReady,
} from '../managed-process.js';
import { ensurePrivateDir } from '../private-files.js';
import {
  findPostgresBinDir,
  handDirToPostgres,
  initCluster,
  loadOrCreatePassword,
  runAsPostgres,
} from './initdb.js';

export { PostgresMissingError } from './initdb.js';

export interface ManagedPostgresOptions {
  /** The cluster (`data/`), its log, socket and the superuser's password live here. */
  dir: string;
  /** Where `initdb` and `postgres` are; default Debian's newest /usr/lib/postgresql/N/bin, N >= 15. */
  binDir?: string;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface ManagedPostgres {
  port: number;
  /** The postmaster's pid. */
  readonly pid: number;
  /** A superuser URL for `database` (default `postgres`), for pg. */
  url(database?: string): string;
  /** Creates `name` unless it exists; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (SIGINT: clients are disconnected, data flushed), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the postmaster, for fault tests (the next start runs crash recovery). */
  kill(): Promise<void>;
  /** Starts it again on the same data and port (after stop or kill). */
  restart(): Promise<void>;
}

const DEFAULT_SETTINGS: Record<string, string | number> = {
  listen_addresses: '127.0.0.1',
  // 3 broker nodes, 2 ingest workers and 2 API replicas with pools of 10, plus tests and psql.
  max_connections: 200,
  unix_socket_permissions: '0700',
};

/** One query as the superuser on a fresh connection (readiness, CREATE DATABASE). */
async function superuserQuery(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {}); // a server going away during the query rejects the query itself
  try {
    await client.connect();
    return await client.query(sql, values);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startManagedPostgres(options: ManagedPostgresOptions): Promise<ManagedPostgres> {
  const binDir = findPostgresBinDir(options.binDir);
  const as = runAsPostgres();
  const dir = path.resolve(options.dir);
  ensurePrivateDir(dir);
  handDirToPostgres(dir, as);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const password = loadOrCreatePassword(path.join(dir, 'superuser-password'), as, () =>
    randomBytes(24).toString('hex'),
  );
  await initCluster(binDir, dataDir, path.join(dir, 'superuser-password'), as);
  // A postmaster a killed earlier run left: SIGINT is its fast shutdown.
  await stopStale(pidFile, 'postgres', options.logger, 'SIGINT');

  let child: ReturnType<typeof spawnBound> | undefined;
  let port = 0;
  const url = (database = 'postgres') =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const postmasterPid = () => readPidFile(pidFile);

  const launch = async () => {
    const settings = { ...DEFAULT_SETTINGS, ...options.settings };
    const server = [path.join(binDir, 'postgres'), '-D', dataDir, '-p', String(port), '-k', dir];
    for (const [name, value] of Object.entries(settings)) server.push('-c', `${name}=${value}`);
    // As root: runuser forks, so the server needs a pdeathsig of its own, bound to runuser's life.
    const setpriv = as.prefix.length > 0 ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
    await removeDeadPidFile(pidFile, 'postgres');
    const proc = spawnBound([...as.prefix, ...setpriv, ...server], logFile);
    child = proc;
    try {
      const ready = async () => (await superuserQuery(url(), 'SELECT 1')).rowCount === 1;
      await waitUntilReady(ready, proc, options.startTimeoutMs ?? 60_000, 'postgres');
    } catch (err) {
      await stopPostmaster(proc, postmasterPid(), 0);
      throw new Error(`${(err as Error).message}; see ${logFile}:\n${logTail(logFile)}`);
    }
  };

  // Another process may take a port found free before postgres binds it; after a SIGKILL the old
  // server's backends may hold its shared memory for a moment. Either way: try again.
  const launchWithRetries = async (newPort: boolean) => {
    for (let attempt = 1; ; attempt++) {
      if (newPort) port = await freePort();
      try {
        return await launch();
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await launchWithRetries(true);
  options.logger?.info({ port, pid: postmasterPid(), dir }, 'managed postgres started');

  return {
    get port() {
      return port;
    },
    get pid() {
      return postmasterPid() ?? -1;
    },
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name: ${name}`);
      const exists = await superuserQuery(url(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await superuserQuery(url(), `CREATE DATABASE ${name}`);
      return url(name);
    },
    stop: (graceMs = 10_000) => stopPostmaster(child, postmasterPid(), graceMs),
    kill: () => stopPostmaster(child, postmasterPid(), 0),
    restart: async () => {
      await stopPostmaster(child, postmasterPid(), 10_000);
      await launchWithRetries(false);
    },
  };
}

/** SIGINT to the postmaster (or SIGKILL with graceMs 0), SIGKILL after `graceMs`; waits for both. */
async function stopPostmaster(
  child: ReturnType<typeof spawnBound> | undefined,
  pid: number | undefined,
  graceMs: number,
): Promise<void> {
  if (pid !== undefined && processNamed(pid, 'postgres')) {
    process.kill(pid, graceMs === 0 ? 'SIGKILL' : 'SIGINT');
    if (!(await waitForExit(pid, 'postgres', graceMs))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 'postgres', 5000);
    }
  }
  if (child) {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await childExited(child);
    clearTimeout(timer);
  }
}

/** Whether a process with this pid is a postgres (tests: nothing left running). */
export function postgresRunning(pid: number): boolean {
  return processNamed(pid, 'postgres');
}
