/**
 * A platform component as its own process (`main/broker.ts`, `main/ingest.ts`, `main/api.ts`), for
 * cluster tests: started with an environment, ready when its output says so, stopped or killed by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export interface ComponentProcess {
  name: string;
  readonly pid: number;
  output(): string;
  /** Resolves with the exit code (null after a signal) once it exited. */
  exited(): Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const READY: Record<string, RegExp> = {
  broker: /MQTT broker listening/,
  ingest: /ingest running/,
  api: /API listening/,
  cluster: /curl /,
};

const root = path.resolve(import.meta.dirname, '..', '..');

export function startComponent(
  entry: 'broker' | 'ingest' | 'api' | 'cluster',
  name: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ComponentProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join('main', `${entry}.ts`)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: ComponentProcess = {
    name,
    get pid() {
      return child.pid ?? -1;
    },
    output: () => out,
    exited: () => exit,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exit;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (b: Buffer) => {
      out += b;
      if (out.length > 200_000) out = out.slice(-100_000);
      if (READY[entry]!.test(out)) {
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${out}`));
    });
  });
}
