/**
 * How an entrypoint ends (close-with-grace): on SIGINT, SIGTERM, SIGHUP, SIGQUIT or SIGUSR2 it
 * closes what it started in order and exits 0; on an uncaught exception or an unhandled rejection
 * it logs the error, closes in order and exits 1. A second signal, or a second error while
 * closing, exits 1 at once; so does a close that takes longer than the deadline.
 */
import closeWithGrace from 'close-with-grace';
import type { Logger } from '../core/log.js';

export const STOP_DEADLINE_MS = 5000;

/**
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL (and SIGABRT, SIGTRAP) raised by a real fault leave no state in
 * which JavaScript can run safely (Node's docs, "Signal events"); `beforeExit` never comes while a
 * server listens, and when it does nothing is left to close.
 */
const NOT_GRACEFUL: closeWithGrace.AllEvents[] = [
  'SIGSEGV',
  'SIGBUS',
  'SIGFPE',
  'SIGILL',
  'SIGABRT',
  'SIGTRAP',
  'beforeExit',
];

export interface GracefulEnd {
  /** Closes and exits 0, as a signal would (e.g. a simulator whose duration has elapsed). */
  close(): void;
}

export function endGracefully(
  logger: Logger,
  close: () => Promise<void>,
  deadlineMs = STOP_DEADLINE_MS,
): GracefulEnd {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const end = closeWithGrace(
    {
      delay: deadlineMs,
      skip: NOT_GRACEFUL,
      logger: {
        error: (what: unknown) =>
          logger.error(what instanceof Error ? { err: what } : { what }, 'error while stopping'),
      },
      onSecondSignal: (signal) => say(`${signal} again: exiting now`),
      onSecondError: (err) => logger.fatal({ err }, 'another uncaught error while stopping: exiting now'),
      onTimeout: (ms) => say(`did not stop within ${ms} ms; exiting`),
    },
    async ({ signal, err }) => {
      if (err) {
        logger.fatal({ err }, 'uncaught error: stopping everything in order, then exiting with code 1');
      } else if (signal) {
        logger.info({ signal }, 'stopping');
      }
      await close();
    },
  );
  return { close: () => end.close() };
}
