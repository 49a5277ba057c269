/**
 * A local `redis-server` (Debian's, 7.x) that the platform starts and owns: the cluster quick start
 * and the tests. Loopback only, a generated password (in `dir`, 0600), append-only file on.
 *
 * Durability: `appendfsync everysec` (default) survives a killed Redis or host process, but a power
 * cut can lose the last second of writes; `always` fsyncs every write before Redis answers.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { findExecutable, freePort } from '../influx/managed.js';
import type { Logger } from '../log.js';
import {
  childExited,
  logTail,
  processNamed,
  removeFiles,
  spawnBound,
  stopStale,
  waitUntilReady,
} from '../managed-process.js';
import { ensurePrivateDir, tightenTree } from '../private-files.js';

export type AppendFsync = 'everysec' | 'always';

export interface ManagedRedisOptions {
  /** Config, append-only files, log, pid file and password live here. */
  dir: string;
  redisServerPath?: string;
  /** When Redis fsyncs its append-only file: every second (default) or every write. */
  appendfsync?: AppendFsync;
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface ManagedRedis {
  /** `redis://:password@127.0.0.1:port`, for ioredis. */
  url: string;
  port: number;
  readonly pid: number;
  /** SIGTERM (Redis fsyncs its AOF and exits), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, for fault tests: what was acknowledged must come back from the AOF. */
  kill(): Promise<void>;
  /** Starts it again on the same data and port (after stop or kill). */
  restart(): Promise<void>;
}

export class RedisMissingError extends Error {
  constructor(binary: string) {
    super(
      `'${binary}' was not found. Install Redis 7 (Debian: apt-get update && apt-get install -y redis-server), ` +
        'or set REDIS_URL to a Redis server to use.',
    );
    this.name = 'RedisMissingError';
  }
}

function configText(dir: string, port: number, password: string, appendfsync: AppendFsync): string {
  // Directives as in redis.conf of 7.0. No RDB snapshots: the AOF (with its RDB preamble) is the data.
  // noeviction: the journal must never lose entries to a memory limit.
  return `bind 127.0.0.1
port ${port}
protected-mode yes
daemonize no
dir ${dir}
logfile ${path.join(dir, 'redis.log')}
requirepass ${password}
save ""
appendonly yes
appendfsync ${appendfsync}
maxmemory-policy noeviction
`;
}

/** AUTH then PING over a raw socket: true on PONG (false while Redis still loads its AOF). */
export function redisPing(port: number, password: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    let answer = '';
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => {
      socket.write(`*2\r\n$4\r\nAUTH\r\n$${password.length}\r\n${password}\r\n*1\r\n$4\r\nPING\r\n`);
    });
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('+PONG')) done(true);
      else if (answer.split('\r\n').length > 2) done(false); // two replies, not PONG (-LOADING)
    });
  });
}

function loadOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('hex');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export async function startManagedRedis(options: ManagedRedisOptions): Promise<ManagedRedis> {
  const binary = findExecutable(options.redisServerPath ?? 'redis-server');
  if (!binary) throw new RedisMissingError(options.redisServerPath ?? 'redis-server');
  const dir = path.resolve(options.dir);
  const wasOpen = existsSync(dir) && (statSync(dir).mode & 0o077) !== 0;
  ensurePrivateDir(dir);
  if (wasOpen) tightenTree(dir);
  const files = {
    pid: path.join(dir, 'redis.pid'),
    url: path.join(dir, 'redis.url'),
    config: path.join(dir, 'redis.conf'),
    log: path.join(dir, 'redis.log'),
  };
  const password = loadOrCreatePassword(path.join(dir, 'redis-password'));
  const appendfsync = options.appendfsync ?? 'everysec';
  await stopStale(files.pid, 'redis-server', options.logger);
  removeFiles(files.pid);

  let child: ReturnType<typeof spawnBound> | undefined;
  let port = 0;
  const url = () => `redis://:${password}@127.0.0.1:${port}`;

  const launch = async () => {
    writeFileSync(files.config, configText(dir, port, password, appendfsync), { mode: 0o600 });
    const proc = spawnBound([binary, files.config], files.log);
    child = proc;
    if (proc.pid) writeFileSync(files.pid, String(proc.pid), { mode: 0o600 });
    try {
      await waitUntilReady(() => redisPing(port, password), proc, options.startTimeoutMs ?? 30_000, 'redis');
      writeFileSync(files.url, url(), { mode: 0o600 });
    } catch (err) {
      proc.kill('SIGKILL');
      await childExited(proc);
      throw new Error(`${(err as Error).message}; see ${files.log}:\n${logTail(files.log)}`);
    }
  };

  // A port found free may be taken before Redis binds it: pick another and try again.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await childExited(proc);
    clearTimeout(timer);
    removeFiles(files.pid, files.url);
  };

  options.logger?.info({ port, pid: child?.pid, dir, appendfsync }, 'managed redis started');
  return {
    url: url(),
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    stop: (graceMs = 5000) => signalAndWait('SIGTERM', graceMs),
    kill: () => signalAndWait('SIGKILL', 0),
    restart: async () => {
      await signalAndWait('SIGTERM', 5000);
      await launch();
    },
  };
}

/** Whether a process with this pid is a redis-server (tests: nothing left running). */
export function redisRunning(pid: number): boolean {
  return processNamed(pid, 'redis-server');
}
