/**
 * `npm run sim`: the device simulator alone. Reads argv and the environment, runs the fleet, and on
 * SIGINT/SIGTERM stops cleanly (unacknowledged readings are kept in the buffer dir for the next
 * run). A second signal exits at once.
 */
import { ConfigError } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { HELP, listProfiles, loadProfiles, parseSimArgs, runSim, UsageError } from '../device-sim/cli.js';

async function main(): Promise<number> {
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

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping simulator');
    const { summary } = await sim.stop();
    process.stdout.write(`${summary}\n`);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130); // impatient second Ctrl-C
      void stop(signal);
    });
  }
  await sim.finished;
  await stop('duration elapsed');
  return 0;
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
