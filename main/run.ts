/**
 * What every entrypoint does the same way: read and validate the environment (exit 2 with one clear
 * message on a bad variable), start (exit 1 with a message naming the variable to change when a
 * port is taken), then end gracefully (main/graceful.ts): close in order on a signal, and also on an
 * uncaught exception or unhandled rejection (logged, exit 1); a second Ctrl-C exits at once.
 * Only files under main/ read process.env, install signal handlers or exit.
 */
import { ConfigError, loadConfig, type PlatformConfig, type SectionName } from '../core/config.js';
import { InfluxdMissingError } from '../core/influx/managed.js';
import { createLogger, type Logger } from '../core/log.js';
import { loadDotEnv } from './env-file.js';
import { endGracefully } from './graceful.js';
import { portTakenMessage, portVariables } from './port-taken.js';

export interface Running {
  close(): Promise<void>;
}

export async function runMain<S extends SectionName>(
  sections: readonly S[],
  start: (config: Pick<PlatformConfig, S>, logger: Logger) => Promise<Running>,
  options: {
    /** Values used where the environment sets none (the quick start's listeners). */
    defaults?: Record<string, string>;
    /** How long a graceful stop may take before the process exits anyway. */
    stopDeadlineMs?: number;
  } = {},
): Promise<void> {
  // Everything the platform and its libraries create (SQLite -wal/-shm, LevelDB, influxd's files) is
  // private to this user: 0600 files, 0700 directories (issue 19, data at rest).
  process.umask(0o077);
  loadDotEnv();
  let config: Pick<PlatformConfig, S>;
  try {
    config = loadConfig({ ...options.defaults, ...process.env }, sections);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const partial = config as Partial<PlatformConfig>;
  // Logs go to stderr: stdout carries what a person reads (the start banner, the URLs).
  const logger = createLogger(partial.common?.logLevel ?? 'info', process.stderr as never);

  // Installed before starting, so a signal or crash while starting waits for the start, then closes
  // what it opened (within the deadline).
  let starting: Promise<Running> | undefined;
  endGracefully(
    logger,
    async () => {
      const running = await starting?.catch(() => undefined);
      await running?.close();
    },
    options.stopDeadlineMs,
  );
  try {
    starting = start(config, logger);
    await starting;
  } catch (err) {
    const taken = portTakenMessage(err, portVariables(partial));
    const known = err instanceof InfluxdMissingError ? (err as Error).message : taken;
    process.stderr.write(`Could not start: ${known ?? (err as Error).stack ?? err}\n`);
    process.exit(1);
  }
}
