/**
 * What every entrypoint does the same way: read and validate the environment (exit 2 with one clear
 * message on a bad variable), start, and stop cleanly on SIGINT/SIGTERM within a deadline.
 * Only files under main/ read process.env, install signal handlers or exit.
 */
import { ConfigError, loadConfig, type PlatformConfig, type SectionName } from '../core/config.js';
import { InfluxdMissingError } from '../core/influx/managed.js';

export interface Running {
  close(): Promise<void>;
}

const STOP_DEADLINE_MS = 5000;

export async function runMain<S extends SectionName>(
  sections: readonly S[],
  start: (config: Pick<PlatformConfig, S>) => Promise<Running>,
): Promise<void> {
  // Everything the platform and its libraries create (SQLite -wal/-shm, LevelDB, influxd's files) is
  // private to this user: 0600 files, 0700 directories (issue 19, data at rest).
  process.umask(0o077);
  let config: Pick<PlatformConfig, S>;
  try {
    config = loadConfig(process.env, sections);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  let running: Running;
  try {
    running = await start(config);
  } catch (err) {
    const known = err instanceof InfluxdMissingError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    process.stderr.write(
      `Could not start: ${known ? (err as Error).message : ((err as Error).stack ?? err)}\n`,
    );
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    const deadline = setTimeout(() => {
      process.stderr.write(`did not stop within ${STOP_DEADLINE_MS} ms; exiting\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    running.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
