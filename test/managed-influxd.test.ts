import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectInflux } from '../core/influx/client.js';
import { InfluxdMissingError, influxdRunning, startManagedInfluxd } from '../core/influx/managed.js';
import {
  adminPasswordFile,
  platformPasswordFile,
  postQuery,
  provisionManagedUsers,
} from '../core/influx/managed-auth.js';
import { WriteConfigurationError } from '../core/influx/write.js';
import { ReadinessProblem } from '../core/readiness.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'managed-influxd-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('managed influxd', () => {
  it('starts on loopback with tsi1 and auth on, creates a database, and stops leaving no process', async () => {
    const dir = tempDir();
    const server = await startManagedInfluxd({ dir });
    const pid = server.pid;
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const conf = readFileSync(path.join(dir, 'influxd.conf'), 'utf8');
    expect(conf).toContain('index-version = "tsi1"');
    expect(conf).toContain('auth-enabled = true');
    const { admin, platform } = await provisionManagedUsers(server.url, dir, 'managed_check');
    const conn = connectInflux(server.url, 'managed_check', { auth: admin });
    expect(await conn.client.getDatabaseNames()).toContain('managed_check');
    // The platform user reads and writes its database, and nothing else.
    const asPlatform = connectInflux(server.url, 'managed_check', { auth: platform });
    await asPlatform.writer.write(['m,device=d v=1 1700000000000']);
    const read = await asPlatform.query(['SELECT * FROM m']);
    expect(read.results?.[0]?.series?.[0]?.values).toEqual([[1700000000000, 'd', 1]]);
    expect((await postQuery(server.url, 'CREATE DATABASE other', platform)).status).toBe(403);
    await server.stop();
    expect(influxdRunning(pid)).toBe(false);
    expect(existsSync(path.join(dir, 'influxd.pid'))).toBe(false);
  });

  it('refuses anonymous reads and writes; passwords live in the data dir, mode 0600', async () => {
    const dir = tempDir();
    const server = await startManagedInfluxd({ dir });
    try {
      const { admin } = await provisionManagedUsers(server.url, dir, 'telemetry');
      const anonymousRead = await fetch(
        `${server.url}/query?db=telemetry&q=${encodeURIComponent('SHOW MEASUREMENTS')}`,
      );
      expect(anonymousRead.status).toBe(401);
      const anonymousWrite = await fetch(`${server.url}/write?db=telemetry&precision=ms`, {
        method: 'POST',
        body: 'fake,device=x v=1 1700000000000',
      });
      expect(anonymousWrite.status).toBe(401);
      // Not even the "first admin" loophole: an admin exists.
      const takeover = await postQuery(server.url, "CREATE USER evil WITH PASSWORD 'x' WITH ALL PRIVILEGES");
      expect(takeover.status).toBe(401);
      for (const file of [adminPasswordFile(dir), platformPasswordFile(dir)]) {
        expect(statSync(file).mode & 0o777).toBe(0o600);
      }
      expect(readFileSync(adminPasswordFile(dir), 'utf8').trim()).toBe(admin.password);
      // Wrong credentials (an INFLUX_USERNAME/INFLUX_PASSWORD typo against a 1.x with auth): a
      // configuration fault for writes, and /readyz says which variables to check.
      const wrong = connectInflux(server.url, 'telemetry', {
        auth: { username: 'platform', password: 'nope' },
      });
      await expect(wrong.writer.write(['m,device=d v=1 1700000000000'])).rejects.toBeInstanceOf(
        WriteConfigurationError,
      );
      const queryCheck = wrong.readiness.find((c) => c.name === 'influxdb-query')!;
      await expect(queryCheck.check()).rejects.toThrow(/\(401\): check INFLUX_USERNAME and INFLUX_PASSWORD/);
      await expect(queryCheck.check()).rejects.toBeInstanceOf(ReadinessProblem);
      // A second provisioning (the next start) keeps the same users and passwords working.
      const again = await provisionManagedUsers(server.url, dir, 'telemetry');
      expect(again).toEqual(await provisionManagedUsers(server.url, dir, 'telemetry'));
      const users = await postQuery(server.url, 'SHOW USERS', admin);
      expect(users.results[0]?.series?.[0]?.values).toEqual(
        expect.arrayContaining([
          ['admin', true],
          ['platform', false],
        ]),
      );
    } finally {
      await server.stop();
    }
  });

  it('upgrades a data dir from before auth: the old data stays, users are created', async () => {
    const dir = tempDir();
    const old = await startManagedInfluxd({ dir, auth: false });
    const anon = connectInflux(old.url, 'telemetry');
    await anon.ensureDatabase();
    await anon.writer.write(['plt_old,device=dev_old v=42 1700000000000']);
    await old.stop();
    const server = await startManagedInfluxd({ dir });
    try {
      const { platform } = await provisionManagedUsers(server.url, dir, 'telemetry');
      const read = await connectInflux(server.url, 'telemetry', { auth: platform }).query([
        'SELECT v FROM plt_old',
      ]);
      expect(read.results?.[0]?.series?.[0]?.values).toEqual([[1700000000000, 42]]);
      expect((await fetch(`${server.url}/query?q=SHOW%20DATABASES`)).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  it('reports a missing binary with what to install', async () => {
    await expect(
      startManagedInfluxd({ dir: tempDir(), influxdPath: '/nonexistent/influxd' }),
    ).rejects.toThrow(InfluxdMissingError);
  });

  it('leaves no orphan when its owner is killed with SIGKILL, and the next start works', async () => {
    const dir = tempDir();
    // An owner process that starts influxd through the same module, prints its pid, then waits.
    const script = `
      import { startManagedInfluxd } from ${JSON.stringify(path.resolve('core/influx/managed.ts'))};
      const s = await startManagedInfluxd({ dir: ${JSON.stringify(dir)} });
      console.log('PID', s.pid);
      setInterval(() => {}, 1000);
    `;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      owner.stdout.on('data', (b) => {
        out += b;
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      owner.on('exit', () => reject(new Error(`owner exited: ${out}`)));
    });
    expect(influxdRunning(childPid)).toBe(true);
    owner.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (influxdRunning(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(influxdRunning(childPid)).toBe(false);
    const again = await startManagedInfluxd({ dir });
    await again.stop();
  });
});
