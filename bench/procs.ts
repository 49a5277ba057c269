/**
 * Child processes for the benchmarks. Load generators and the system under test each run in a
 * process of their own (a Node process per role, started with tsx), so a load generator never
 * shares an event loop with what it measures. Parent and child talk over the IPC channel with small
 * `{type, ...}` messages.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './report.js';

export interface Msg {
  type: string;
  [k: string]: unknown;
}

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The next message of this type (queued if it arrived earlier); rejects if the child exits first. */
  next<T extends { type: string } = Msg>(type: string, timeoutMs?: number): Promise<T>;
  /** Every message of this type, as it arrives. */
  on(type: string, fn: (msg: Msg) => void): void;
  send(msg: Msg): void;
  /** `p`, or a rejection naming this child (with its last output) if the child exits first. */
  whileAlive<T>(p: Promise<T>): Promise<T>;
  /** Sends `{type:'stop'}` and waits for exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the child's output (stdout and stderr go to a log file). */
  logTail(lines?: number): string;
}

export interface SpawnOptions {
  /** Passed as JSON in argv[2]. */
  params?: unknown;
  env?: Record<string, string>;
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Where stdout and stderr go. */
  logFile: string;
}

/** Forks `bench/<script>` under tsx. */
export function spawnChild(name: string, script: string, opts: SpawnOptions): Child {
  const out = openSync(opts.logFile, 'a');
  const proc = fork(path.join(BENCH_DIR, script), [JSON.stringify(opts.params ?? {})], {
    execArgv: ['--import', 'tsx', ...(opts.nodeArgs ?? [])],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  const queues = new Map<string, Msg[]>();
  const waiters = new Map<string, ((m: Msg) => void)[]>();
  const listeners = new Map<string, ((m: Msg) => void)[]>();
  let exited: string | undefined;
  const exitWaiters: ((why: string) => void)[] = [];

  proc.on('message', (raw) => {
    const msg = raw as Msg;
    for (const fn of listeners.get(msg.type) ?? []) fn(msg);
    const w = waiters.get(msg.type)?.shift();
    if (w) w(msg);
    else if (!listeners.has(msg.type)) queues.set(msg.type, [...(queues.get(msg.type) ?? []), msg]);
  });
  proc.on('exit', (code, signal) => {
    exited = `${name} exited (code ${code}, signal ${signal})`;
    for (const fn of exitWaiters.splice(0)) fn(exited);
  });

  const logTail = (lines = 25) => {
    try {
      return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  return {
    name,
    proc,
    pid: proc.pid ?? -1,
    next<T extends { type: string }>(type: string, timeoutMs = 60_000): Promise<T> {
      const queued = queues.get(type)?.shift();
      if (queued) return Promise.resolve(queued as T);
      return new Promise<T>((resolve, reject) => {
        const fail = (why: string) => {
          clearTimeout(timer);
          reject(new Error(`${why} while waiting for '${type}'. Its output ends with:\n${logTail()}`));
        };
        if (exited) return fail(exited);
        const timer = setTimeout(() => fail(`${name}: no '${type}' within ${timeoutMs} ms`), timeoutMs);
        exitWaiters.push(fail);
        const list = waiters.get(type) ?? [];
        list.push((m) => {
          clearTimeout(timer);
          exitWaiters.splice(exitWaiters.indexOf(fail), 1);
          resolve(m as T);
        });
        waiters.set(type, list);
      });
    },
    on(type, fn) {
      listeners.set(type, [...(listeners.get(type) ?? []), fn]);
    },
    send(msg) {
      if (!exited && proc.connected) proc.send(msg);
    },
    whileAlive<T>(p: Promise<T>): Promise<T> {
      const died = new Promise<never>((_, reject) => {
        const fail = (why: string) => reject(new Error(`${why}. Its output ends with:\n${logTail()}`));
        if (exited) fail(exited);
        else exitWaiters.push(fail);
      });
      died.catch(() => {}); // only a rejection when raced below
      return Promise.race([p, died]);
    },
    async stop(graceMs = 10_000) {
      if (exited) return;
      const done = new Promise<void>((r) => exitWaiters.push(() => r()));
      if (proc.connected) proc.send({ type: 'stop' });
      else proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
    logTail,
  };
}

// ---- inside a child ----

export function childParams<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function tell(msg: Msg): void {
  process.send?.(msg);
}

/** Runs `fn` on each parent message of this type. */
export function onParent(type: string, fn: (msg: Msg) => void): void {
  process.on('message', (raw) => {
    const msg = raw as Msg;
    if (msg.type === type) fn(msg);
  });
}

/** Exits when the parent says stop or goes away, after `cleanup`. */
export function stopOnParent(cleanup: () => Promise<void> | void): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  onParent('stop', stop);
  process.on('disconnect', stop);
}

// ---- measuring a process from outside ----

/** Resident set size of a process, in bytes (from /proc; Linux only). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * The whole machine's CPU so far (/proc/stat, all cores): busy and idle core-seconds, and context
 * switches. Per request, the idle share shows cores left unused while requests wait on each other.
 */
export function machineCpu(): { busy: number; idle: number; switches: number } {
  try {
    const stat = readFileSync('/proc/stat', 'utf8');
    // "cpu user nice system idle iowait irq softirq steal ..." in clock ticks.
    const t = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
    const idle = (t[3] ?? 0) + (t[4] ?? 0);
    const busy = t.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
    const switches = Number(/^ctxt (\d+)$/m.exec(stat)?.[1] ?? Number.NaN);
    return { busy: busy / CLOCK_TICKS, idle: idle / CLOCK_TICKS, switches };
  } catch {
    return { busy: Number.NaN, idle: Number.NaN, switches: Number.NaN };
  }
}

/** CPU used by several processes between two moments, as a share of one core, for "where the time goes". */
export class CpuMeter {
  private start = new Map<string, number>();
  private t0 = 0;
  constructor(private readonly pids: Record<string, number>) {}
  begin(): void {
    this.t0 = performance.now();
    for (const [name, pid] of Object.entries(this.pids)) this.start.set(name, cpuSeconds(pid));
  }
  /** Label -> "83% of a core" over the interval. */
  end(): Record<string, string> {
    const secs = (performance.now() - this.t0) / 1000;
    const out: Record<string, string> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const used = cpuSeconds(pid) - (this.start.get(name) ?? Number.NaN);
      out[`CPU: ${name}`] = Number.isFinite(used) ? `${Math.round((used / secs) * 100)}% of a core` : 'n/a';
    }
    out['CPU: cores on this machine'] = String(os.cpus().length);
    return out;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
