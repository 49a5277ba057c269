/**
 * Data at rest (issue 19, item 4), as an operator runs it: `npm start` (main/all.ts) with the managed
 * influxd, on a DATA_DIR made by an older version (world-readable, influxd with auth off and no users,
 * an old point in it). After the start: every directory in DATA_DIR is 0700 and every file 0600, the
 * managed influxd refuses anonymous reads and writes, the old point is still there for the platform
 * user, the platform serves its simulated readings through the authenticated influxd, and
 * `npm run influx-user` makes read-only credentials for Grafana.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectInflux } from '../core/influx/client.js';
import { startManagedInfluxd } from '../core/influx/managed.js';
import { postQuery } from '../core/influx/managed-auth.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'data-at-rest-'));
let child: ChildProcess | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every path under `dir` with its permission bits. */
function modes(dir: string): { file: string; mode: number; isDir: boolean }[] {
  const out: { file: string; mode: number; isDir: boolean }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    const st = lstatSync(file);
    out.push({ file: path.relative(dataDir, file), mode: st.mode & 0o777, isDir: e.isDirectory() });
    if (e.isDirectory()) out.push(...modes(file));
  }
  return out;
}

/** A DATA_DIR as the previous version left it: 0755/0644, influxd without auth or users, data in it. */
async function oldDataDir(): Promise<void> {
  const old = await startManagedInfluxd({ dir: path.join(dataDir, 'influxdb'), auth: false });
  const conn = connectInflux(old.url, 'telemetry');
  await conn.ensureDatabase();
  await conn.writer.write(['plt_old,device=dev_old temperature=42 1700000000000']);
  await old.stop();
  await openDataDirRegistry(dataDir, 200).close();
  const open = (p: string) => {
    const st = statSync(p);
    chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of readdirSync(p)) open(path.join(p, e));
  };
  open(dataDir);
}

function startPlatformProcess(): { proc: ChildProcess; banner: Promise<string> } {
  const { INFLUX_URL: _i, ADMIN_API_KEY: _a, INFLUX_TOKEN: _t, ...inherited } = process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'main/all.ts'], {
    env: {
      ...inherited,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      MQTT_PORT: '0',
      SIM_DEVICES: '2',
      SIM_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (b) => {
    out += b;
  });
  proc.stderr!.on('data', (b) => {
    out += b;
  });
  const banner = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 60_000);
    proc.stdout!.on('data', () => {
      if (out.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  return { proc, banner };
}

describe('data at rest', () => {
  it('an old data dir upgrades: private files, an influxd that refuses anonymous access, nothing lost', async () => {
    await oldDataDir();
    expect(statSync(path.join(dataDir, 'registry.db')).mode & 0o777).toBe(0o644);
    const started = startPlatformProcess();
    child = started.proc;
    const banner = await started.banner;
    const [, key, url] = /curl -s -H 'Authorization: Bearer (\S+)' '(\S+)'/.exec(banner) ?? [];
    // The platform works through the authenticated influxd: simulated readings come back.
    let items: unknown[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && items.length === 0; ) {
      const res = await fetch(url!, { headers: { authorization: `Bearer ${key}` } });
      if (res.ok) items = ((await res.json()) as { items: unknown[] }).items;
      if (items.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(items.length).toBeGreaterThan(0);

    const all = modes(dataDir);
    for (const must of [
      'registry.db',
      'service-secret',
      'journal/telemetry.db',
      'broker',
      'influxdb/admin-password',
    ]) {
      expect(all.map((m) => m.file)).toContain(must);
    }
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(all.filter((m) => m.isDir && m.mode !== 0o700)).toEqual([]);
    expect(all.filter((m) => !m.isDir && (m.mode & 0o077) !== 0)).toEqual([]);
    expect(all.filter((m) => m.file.startsWith('broker/') && !m.isDir).length).toBeGreaterThan(0);

    const influxUrl = readFileSync(path.join(dataDir, 'influxdb', 'influxd.url'), 'utf8').trim();
    const read = await fetch(
      `${influxUrl}/query?db=telemetry&q=${encodeURIComponent('SELECT * FROM plt_old')}`,
    );
    expect(read.status).toBe(401);
    const write = await fetch(`${influxUrl}/write?db=telemetry&precision=ms`, {
      method: 'POST',
      body: 'plt_fake,device=dev_fake temperature=1 1700000000000',
    });
    expect(write.status).toBe(401);
    const takeover = await postQuery(influxUrl, "CREATE USER mallory WITH PASSWORD 'x' WITH ALL PRIVILEGES");
    expect(takeover.status).toBe(401);
    // The platform user (password in DATA_DIR) reads what the old version stored.
    const password = readFileSync(path.join(dataDir, 'influxdb', 'platform-password'), 'utf8').trim();
    const asPlatform = await connectInflux(influxUrl, 'telemetry', {
      auth: { username: 'platform', password },
    }).query(['SELECT temperature FROM plt_old']);
    expect(asPlatform.results?.[0]?.series?.[0]?.values).toEqual([[1700000000000, 42]]);

    // Read-only credentials for Grafana: reads, and nothing else.
    const made = spawnSync(process.execPath, ['--import', 'tsx', 'main/influx-user.ts', 'grafana'], {
      env: { ...process.env, DATA_DIR: dataDir, INFLUX_URL: '', INFLUX_TOKEN: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(made.status, made.stderr).toBe(0);
    const grafana = { username: 'grafana', password: /Password\s+(\S+)/.exec(made.stdout)?.[1] ?? '' };
    const asGrafana = connectInflux(influxUrl, 'telemetry', { auth: grafana });
    const seen = await asGrafana.query(['SELECT temperature FROM plt_old']);
    expect(seen.results?.[0]?.series?.[0]?.values).toEqual([[1700000000000, 42]]);
    await expect(
      asGrafana.writer.write(['plt_old,device=dev_old temperature=0 1700000000000']),
    ).rejects.toThrow(/refused the credentials \(403/);

    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('the registry and the journal are 0600 with their -wal and -shm, also without umask 077', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'data-at-rest-sqlite-'));
    try {
      expect(process.umask() & 0o077).not.toBe(0o077); // this test process keeps the usual umask
      const registry = openDataDirRegistry(dir, 200);
      await registry.createPartner({ name: 'A', country: 'DE', kind: 'both' }, 'f'.repeat(64));
      const journal = openDataDirJournal(dir);
      await journal.append([{ deviceId: 'dev_x', receivedAt: 1, payload: Buffer.from('{}') }]);
      for (const f of [
        'registry.db',
        'registry.db-wal',
        'registry.db-shm',
        'journal/telemetry.db',
        'journal/telemetry.db-wal',
      ]) {
        expect([f, statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
      }
      expect(statSync(path.join(dir, 'journal')).mode & 0o777).toBe(0o700);
      await journal.close();
      await registry.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
