/**
 * The platform's own Redis and PostgreSQL launchers (core/redis/managed.ts, core/postgres/managed.ts):
 * loopback, passwords required, data kept across a SIGKILL and restart, nothing left running after a
 * stop or after their owner process is SIGKILLed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresRunning, startManagedPostgres } from '../core/postgres/managed.js';
import { RedisMissingError, redisRunning, startManagedRedis } from '../core/redis/managed.js';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `call` of `module` in a child process that prints the server's pid, then SIGKILLs it. */
async function killOwnerOf(module: string, call: string): Promise<number> {
  const script = `
    import * as m from ${JSON.stringify(path.resolve(module))};
    const s = await m.${call};
    console.log('PID', s.pid);
    setInterval(() => {}, 1000);
  `;
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (b) => {
      out += b;
      const m = /PID (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    owner.on('exit', () => reject(new Error(`owner exited: ${out}`)));
  });
  owner.kill('SIGKILL');
  return pid;
}

describe('managed redis-server', () => {
  it('needs its password, keeps writes across SIGKILL (AOF), and stops leaving nothing', async () => {
    const dir = tempDir('redis-managed-');
    const server = await startManagedRedis({ dir, appendfsync: 'always' });
    expect(server.url).toMatch(/^redis:\/\/:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
    const conf = readFileSync(path.join(dir, 'redis.conf'), 'utf8');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync always$/m);
    expect(statSync(path.join(dir, 'redis-password')).mode & 0o777).toBe(0o600);
    const anonymous = new Redis(server.port, '127.0.0.1', {
      enableReadyCheck: false,
      retryStrategy: () => null,
    });
    anonymous.on('error', () => {});
    await expect(anonymous.get('k')).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();

    const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    await client.set('k', 'v');
    const firstPid = server.pid;
    await server.kill();
    expect(redisRunning(firstPid)).toBe(false);
    await server.restart();
    const again = new Redis(server.url, { maxRetriesPerRequest: 0 });
    expect(await again.get('k')).toBe('v');
    client.disconnect();
    again.disconnect();
    const pid = server.pid;
    await server.stop();
    expect(redisRunning(pid)).toBe(false);
  });

  it('reports a missing binary with what to install', async () => {
    await expect(
      startManagedRedis({ dir: tempDir('redis-missing-'), redisServerPath: '/nonexistent/redis-server' }),
    ).rejects.toThrow(RedisMissingError);
  });

  it('leaves no orphan when its owner is SIGKILLed', async () => {
    const dir = tempDir('redis-orphan-');
    const pid = await killOwnerOf(
      'core/redis/managed.ts',
      `startManagedRedis({ dir: ${JSON.stringify(dir)} })`,
    );
    await until(() => !redisRunning(pid), 'redis-server to die with its owner');
    const next = await startManagedRedis({ dir });
    await next.stop();
  });
});

describe('managed postgres', () => {
  it('refuses a wrong password, keeps data across SIGKILL, and stops leaving nothing', async () => {
    const dir = tempDir('postgres-managed-');
    const server = await startManagedPostgres({ dir });
    const url = await server.createDatabase('platform');
    expect(url).toMatch(/^postgres:\/\/postgres:[0-9a-f]{48}@127\.0\.0\.1:\d+\/platform$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const wrong = new pg.Client({ connectionString: url.replace(/:[0-9a-f]{48}@/, ':nope@') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)');
    await client.end();
    const firstPid = server.pid;
    await server.kill();
    expect(postgresRunning(firstPid)).toBe(false);
    await server.restart();
    const again = new pg.Client({ connectionString: server.url('platform') });
    await again.connect();
    expect((await again.query('SELECT v FROM t')).rows).toEqual([{ v: 'kept' }]);
    await again.end();
    const pid = server.pid;
    await server.stop();
    expect(postgresRunning(pid)).toBe(false);
  });

  it('leaves no orphan when its owner is SIGKILLed, and the next start works', async () => {
    const dir = tempDir('postgres-orphan-');
    const pid = await killOwnerOf(
      'core/postgres/managed.ts',
      `startManagedPostgres({ dir: ${JSON.stringify(dir)} })`,
    );
    await until(() => !postgresRunning(pid), 'postgres to die with its owner');
    const next = await startManagedPostgres({ dir });
    const client = new pg.Client({ connectionString: next.url() });
    await client.connect();
    await client.end();
    await next.stop();
  });
});
