/**
 * `./platform.sh cluster` (issue 12): starts Redis, PostgreSQL, the managed influxd, 3 broker nodes,
 * 2 ingest workers, 2 API replicas and a simulated fleet; prints every URL and a curl line; readings
 * from the fleet arrive through the API; SIGINT (Ctrl-C) stops all of it and leaves no process behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { waitFor } from './helpers/poll.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cluster-quickstart-'));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL'); // the components die with it (pdeathsig)
  rmSync(dataDir, { recursive: true, force: true });
  const tag = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  rmSync(path.join('/var/tmp', `pilot-platform-${tag}`), { recursive: true, force: true });
});

/** The first port of the kernel's ephemeral range (what port-0 listeners and outgoing connections get). */
function ephemeralLow(): number {
  try {
    return (
      Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
    );
  } catch {
    return 32768;
  }
}

/**
 * `count` consecutive free ports, below the ephemeral range: the other test files, running meanwhile,
 * listen on port 0 and connect out from that range, so a free run there could be taken between this
 * check and the cluster's listen (which made the demo exit before its banner once).
 */
async function freeRun(count: number): Promise<number> {
  const high = ephemeralLow() - count;
  for (;;) {
    const base = 10_000 + Math.floor(Math.random() * (high - 10_000));
    const free = await Promise.all(
      Array.from(
        { length: count },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const s = net.createServer();
            s.once('error', () => resolve(false));
            s.listen(base + i, '127.0.0.1', () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return base;
  }
}

/** Every descendant of `pid` (ps walks the tree). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, parent] of rows)
      if (parent === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^Z/m.test(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }));
  } catch {
    return false;
  }
};

it('starts the demo cluster, readings arrive, and Ctrl-C leaves no process behind', {
  timeout: 300_000,
}, async () => {
  const [mqttPort, httpPort, influxPort] = [await freeRun(3), await freeRun(2), await freeRun(1)];
  child = spawn('./platform.sh', ['cluster'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      MQTT_PORT: String(mqttPort),
      HTTP_PORT: String(httpPort),
      INFLUX_MANAGED_PORT: String(influxPort),
      SIM_DEVICES: '6',
      SIM_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
      CONSOLE_ENABLED: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // a process group of its own, as a terminal gives it
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const started = child;
  const curl = await waitFor(
    () => {
      // A demo that exits before its banner fails the test at once, with what it said.
      if (started.exitCode !== null || started.signalCode !== null)
        throw new Error(
          `platform.sh cluster exited (${started.exitCode ?? started.signalCode}) before its banner:\n${out.slice(-4000)}`,
        );
      return /curl -s -H "Authorization: Bearer (\S+)" "(\S+)\/v1\/pilots\/(\S+)\/devices/.exec(out);
    },
    240_000,
    'the banner',
  );
  for (const port of [mqttPort, mqttPort + 1, mqttPort + 2]) expect(out).toContain(`:${port}`);
  expect(out).toContain(`http://127.0.0.1:${httpPort + 1}`);
  const [, key, api, pilot] = curl;
  const get = async (p: string) =>
    (await (await fetch(`${api}${p}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      items: { id: string; status?: { online: boolean } }[];
    };
  const devices = (await get(`/v1/pilots/${pilot}/devices?limit=10`)).items;
  expect(devices).toHaveLength(6);
  // Readings of devices on several nodes reach InfluxDB through the ingest workers.
  await waitFor(
    async () => {
      const stored = await Promise.all(
        devices.map(async (d) => (await get(`/v1/devices/${d.id}/telemetry?from=0`)).items.length),
      );
      return stored.every((n) => n > 0);
    },
    60_000,
    500,
  );
  const tree = descendants(child.pid!);
  expect(tree.length).toBeGreaterThanOrEqual(10); // redis, postgres, influxd, 7 components, wrappers
  // Ctrl-C: SIGINT to the foreground process group.
  process.kill(-child.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
  child = undefined;
  await waitFor(() => tree.every((pid) => !alive(pid)), 30_000, 'every child to exit');
  expect(code).toBe(0);
});
