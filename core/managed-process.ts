/**
 * What the platform's own server launchers share (Redis: core/redis/managed.ts, PostgreSQL:
 * core/postgres/managed.ts): a child bound to our life, readiness polling, stop by PID, and the
 * clean-up of a server that a killed earlier run left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { findExecutable } from './influx/managed.js';
import type { Logger } from './log.js';

/**
 * Spawns `argv` under umask 077 (its files are the platform user's alone) and, when `setpriv` exists,
 * with `--pdeathsig KILL`: the kernel kills the server when we die, even by SIGKILL, so no orphan.
 */
export function spawnBound(argv: readonly string[], logFile: string): ChildProcess {
  const setpriv = findExecutable('setpriv');
  const server = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
  const out = openSync(logFile, 'a', 0o600);
  const child = spawn('/bin/sh', ['-c', 'umask 077 && exec "$@"', 'sh', ...server], {
    stdio: ['ignore', out, out],
  });
  child.on('error', () => {}); // seen as an exit by waitUntilReady
  return child;
}

/** Whether `pid` is a live process whose command line contains `name` (a zombie has none). */
export function processNamed(pid: number, name: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
  } catch {
    return false;
  }
}

export function waitForExit(pid: number, name: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      if (!processNamed(pid, name)) return resolve(true);
      if (Date.now() > deadline) return resolve(false);
      setTimeout(poll, 25);
    };
    poll();
  });
}

/** The pid on the first line of a pid file, if any. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a server named `name` whose pid is in `pidFile`, left by an earlier run that died before it
 * could stop it: `signal` first (a clean shutdown), SIGKILL after 5 s.
 */
export async function stopStale(
  pidFile: string,
  name: string,
  logger?: Logger,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const pid = readPidFile(pidFile);
  if (pid !== undefined && processNamed(pid, name)) {
    logger?.warn({ pid }, `stopping a ${name} left over from an earlier run`);
    process.kill(pid, signal);
    if (!(await waitForExit(pid, name, 5000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, name, 5000);
    }
  }
}

/**
 * Removes a pid file whose process is gone or a zombie (no command line): a server killed with its
 * owner can stay unreaped for a moment, and postgres refuses to start while its old pid answers.
 */
export async function removeDeadPidFile(pidFile: string, name: string): Promise<void> {
  const pid = readPidFile(pidFile);
  if (pid === undefined || processNamed(pid, name)) return;
  const deadline = Date.now() + 5000;
  while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  removeFiles(pidFile);
}

/** Polls `probe` until it answers true; throws when the child exits first or time runs out. */
export async function waitUntilReady(
  probe: () => Promise<boolean>,
  child: ChildProcess,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms`);
}

/** Resolves when the child has exited (at once if it has already). */
export function childExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** The last lines of a log file, for an error message. */
export function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Removes files, ignoring those already gone. */
export function removeFiles(...files: string[]): void {
  for (const f of files) rmSync(f, { force: true });
}
