/**
 * Logger factory. Components receive a logger; only entrypoints create the root one.
 * Redaction is a second line of defence: secrets should never be passed to a log call at all.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/** What no log line shows, whoever logs it (the API's request URLs: api/log-redaction.ts). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'token',
  '*.token',
];
export const REDACTION = { paths: REDACTED_PATHS, censor: '[redacted]' };

export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = { level, redact: REDACTION };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing, for tests and libraries used without one. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
