/**
 * `npm run sim`: the device simulator alone. Reads argv and the environment, runs the fleet, and on
 * SIGINT/SIGTERM stops cleanly (unacknowledged readings are kept in the buffer dir for the next
 * run). A second signal exits at once; an uncaught error stops the fleet and exits 1.
 */
import { ConfigError } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { HELP, listProfiles, loadProfiles, parseSimArgs, runSim, UsageError } from '../device-sim/cli.js';
import { loadDotEnv } from './env-file.js';
import { endGracefully } from './graceful.js';

/** Flushing the offline buffers of a large fleet may take longer than a server's close. */
const SIM_STOP_DEADLINE_MS = 15_000;

async function main(): Promise<number> {
  loadDotEnv();
  const config = parseSimArgs(process.argv.slice(2), process.env);
  if (config === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (config.listProfiles) {
    process.stdout.write(`${listProfiles((await loadProfiles(config)).library)}\n`);
    return 0;
  }
  const logger = createLogger(process.env.LOG_LEVEL || 'info', process.stderr as never);
  const sim = await runSim(config, { logger });
  // Signals and uncaught errors stop the fleet (main/graceful.ts); readings it could not send stay
  // in the buffer dir for the next run.
  const end = endGracefully(
    logger,
    async () => {
      const { summary } = await sim.stop();
      process.stdout.write(`${summary}\n`);
    },
    SIM_STOP_DEADLINE_MS,
  );
  await sim.finished;
  logger.info({ why: 'duration elapsed' }, 'stopping simulator');
  end.close(); // closes, then exits 0
  return new Promise<number>(() => {});
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`sim: ${err.message}\nTry: npm run sim -- --help\n`);
      process.exit(2);
    }
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
