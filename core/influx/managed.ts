/**
 * The local `influxd` (Debian's InfluxDB 1.x) the platform starts and owns when INFLUX_URL is unset:
 * killed with its owner (`setpriv --pdeathsig`), auth on (managed-auth.ts), loopback only, umask 077.
 * Tests use the same code. docs/DESIGN.md, "InfluxDB".
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ensurePrivateDir, tightenTree } from '../private-files.js';
import { chooseManagedPort, freePort, type ManagedPort, rememberPort } from './managed-port.js';

export { freePort };

export interface ManagedInfluxd {
  url: string;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, for fault tests. */
  kill(): Promise<void>;
  /** Starts it again on the same data and ports (after stop or kill). */
  restart(): Promise<void>;
}

export interface ManagedInfluxdOptions {
  /** Data, meta, WAL, config, log and pid file live here. */
  dir: string;
  influxdPath?: string;
  logger?: Logger;
  startTimeoutMs?: number;
  /**
   * `auth-enabled` (default true): every request but /ping needs a user (managed-auth.ts creates
   * them). Tests' shared server turns it off.
   */
  auth?: boolean;
  /** Its HTTP port (managed-port.ts); default a new free port each start (tests). */
  port?: ManagedPort;
}

export class InfluxdMissingError extends Error {
  constructor(binary: string) {
    super(
      `'${binary}' was not found. Install InfluxDB 1.x (Debian: apt-get update && apt-get install -y influxdb), ` +
        'set INFLUXD_PATH to the binary, or set INFLUX_URL to an InfluxDB 1.x server to use.',
    );
    this.name = 'InfluxdMissingError';
  }
}

export function findExecutable(binary: string): string | undefined {
  if (binary.includes('/')) return existsSync(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir || '.', binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function configText(dir: string, httpPort: number, rpcPort: number, auth: boolean): string {
  // Keys as in the 1.6 sample config (etc/config.sample.toml).
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${path.join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${path.join(dir, 'data')}"
  wal-dir = "${path.join(dir, 'wal')}"
  index-version = "tsi1"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = ${auth}
  log-enabled = false
  write-tracing = false
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  log-enabled = false
`;
}

function isInfluxd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('influxd');
  } catch {
    return false;
  }
}

function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      if (!isInfluxd(pid)) return resolve(true);
      if (Date.now() > deadline) return resolve(false);
      setTimeout(poll, 25);
    };
    poll();
  });
}

/** Stops a server left behind by a previous run that was killed before it could stop it. */
async function stopStale(pidFile: string, logger?: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isInfluxd(pid)) {
    logger?.warn({ pid }, 'stopping an influxd left over from an earlier run');
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
  rmSync(pidFile, { force: true });
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('influxd exited during start');
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
      if (res.status === 204) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`influxd did not answer ${url}/ping within ${timeoutMs} ms`);
}

export async function startManagedInfluxd(options: ManagedInfluxdOptions): Promise<ManagedInfluxd> {
  const binary = findExecutable(options.influxdPath ?? 'influxd');
  if (!binary) throw new InfluxdMissingError(options.influxdPath ?? 'influxd');
  const dir = path.resolve(options.dir);
  // Its files are every partner's telemetry: 0700/0600, also those of a data dir from before.
  const wasOpen = existsSync(dir) && (statSync(dir).mode & 0o077) !== 0;
  ensurePrivateDir(dir);
  if (wasOpen) tightenTree(dir);
  const pidFile = path.join(dir, 'influxd.pid');
  const urlFile = path.join(dir, 'influxd.url');
  const configFile = path.join(dir, 'influxd.conf');
  const logFile = path.join(dir, 'influxd.log');
  const setpriv = findExecutable('setpriv');
  await stopStale(pidFile, options.logger);

  let child: ChildProcess | undefined;
  let httpPort = 0;
  let url = '';

  const launch = async () => {
    const out = openSync(logFile, 'a', 0o600);
    const server = setpriv
      ? [setpriv, '--pdeathsig', 'KILL', '--', binary, '-config', configFile]
      : [binary, '-config', configFile];
    // umask 077 for the child: influxd creates its data, WAL and meta files 0600 and dirs 0700.
    const proc = spawn('/bin/sh', ['-c', 'umask 077 && exec "$@"', 'sh', ...server], {
      stdio: ['ignore', out, out],
    });
    child = proc;
    proc.on('error', () => {}); // reported through exitCode in waitForPing
    if (proc.pid) writeFileSync(pidFile, String(proc.pid), { mode: 0o600 });
    try {
      await waitForPing(url, proc, options.startTimeoutMs ?? 30_000);
      writeFileSync(urlFile, url, { mode: 0o600 });
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
  };

  // A port found free may be taken before influxd binds it: try again (on a new free port, unless
  // the port is fixed).
  const choice = options.port ?? { kind: 'any' };
  for (let attempt = 1; ; attempt++) {
    httpPort =
      attempt === 1 || choice.kind === 'fixed'
        ? await chooseManagedPort(dir, choice, options.logger)
        : await freePort();
    const rpcPort = await freePort();
    url = `http://127.0.0.1:${httpPort}`;
    writeFileSync(configFile, configText(dir, httpPort, rpcPort, options.auth ?? true), { mode: 0o600 });
    try {
      await launch();
      if (choice.kind !== 'any') rememberPort(dir, httpPort);
      break;
    } catch (err) {
      if (attempt >= 3) {
        const tail = existsSync(logFile)
          ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
          : '';
        throw new Error(`${(err as Error).message}; see ${logFile}:\n${tail}`);
      }
    }
  }

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    rmSync(pidFile, { force: true });
    rmSync(urlFile, { force: true });
  };

  options.logger?.info({ url, pid: child?.pid, dir }, 'managed influxd started');
  return {
    url,
    get pid() {
      return child?.pid ?? -1;
    },
    stop: (graceMs = 3000) => signalAndWait('SIGTERM', graceMs),
    kill: () => signalAndWait('SIGKILL', 0),
    restart: async () => {
      await signalAndWait('SIGTERM', 3000);
      await launch();
    },
  };
}

/**
 * The URL of a managed influxd that another process of this platform runs on `dir` right now, if
 * any. With the child bound to its owner's life (pdeathsig), a live server means a live owner, so
 * components started separately on one DATA_DIR share it instead of fighting over its files.
 */
export function runningManagedInfluxdUrl(dir: string): string | undefined {
  try {
    const pid = Number(readFileSync(path.join(dir, 'influxd.pid'), 'utf8').trim());
    if (!isInfluxd(pid)) return undefined;
    return readFileSync(path.join(dir, 'influxd.url'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid is an influxd (for tests that check nothing is left running). */
export function influxdRunning(pid: number): boolean {
  return isInfluxd(pid);
}

/** All influxd pids on the machine (tests: no orphan after a stop). */
export function listInfluxdPids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'influxd'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
