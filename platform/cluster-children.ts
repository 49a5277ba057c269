/**
 * The demo cluster's component processes (`main/broker.ts`, `main/ingest.ts`, `main/api.ts`): each in
 * a process group of its own (a Ctrl-C reaches only the supervisor, which stops them in order) and
 * bound to the supervisor's life (`setpriv --pdeathsig KILL`), its output in `logs/{name}.log`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../core/influx/managed.js';

export interface ChildComponent {
  name: string;
  pid: number;
  /** What it printed on stdout (its URLs). */
  banner: string;
  /** SIGTERM (a graceful close), SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

const READY: Record<string, RegExp> = {
  broker: /MQTT broker listening/,
  ingest: /ingest running/,
  api: /export API=\S+/,
};

const root = path.resolve(import.meta.dirname, '..');

export function startChild(
  entry: 'broker' | 'ingest' | 'api',
  name: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
  timeoutMs = 90_000,
): Promise<ChildComponent> {
  const setpriv = findExecutable('setpriv');
  const argv = [process.execPath, '--import', 'tsx', path.join(root, 'main', `${entry}.ts`)];
  const [cmd, ...args] = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : argv;
  const child: ChildProcess = spawn(cmd!, args, {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
  child.stderr!.pipe(log);
  let banner = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    log.end();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${name} did not start within ${timeoutMs} ms; see ${log.path}`));
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      log.write(b);
      banner += b;
      if (READY[entry]!.test(banner)) {
        clearTimeout(timer);
        resolve({ name, pid: child.pid ?? -1, banner, stop });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited while starting; see ${log.path}`));
    });
  });
}
