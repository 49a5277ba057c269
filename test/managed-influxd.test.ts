import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectInflux } from '../core/influx/client.js';
import { InfluxdMissingError, influxdRunning, startManagedInfluxd } from '../core/influx/managed.js';

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
  it('starts on loopback with tsi1, creates a database, and stops leaving no process', async () => {
    const dir = tempDir();
    const server = await startManagedInfluxd({ dir });
    const pid = server.pid;
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(path.join(dir, 'influxd.conf'), 'utf8')).toContain('index-version = "tsi1"');
    const conn = connectInflux(server.url, 'managed_check');
    await conn.ensureDatabase();
    expect(await conn.client.getDatabaseNames()).toContain('managed_check');
    await server.stop();
    expect(influxdRunning(pid)).toBe(false);
    expect(existsSync(path.join(dir, 'influxd.pid'))).toBe(false);
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
