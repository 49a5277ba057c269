/**
 * The state of ingest's writes as operators see it: healthy or not, why (for the log and, said
 * without addresses, for /readyz), and a log that says a fault once a minute however many batches
 * hit it (INGEST_MAX_IN_FLIGHT batches retry concurrently, each every few seconds), then once when
 * writes resume.
 */
import type { Logger } from '../core/log.js';
import { WriteConfigurationError, WriteUnavailableError } from './writer.js';

export interface WriteFaultState {
  healthy: boolean;
  /** The last failure, in full (logs, status). */
  lastError?: string;
  /** The current fault, safe to show publicly; undefined while healthy. */
  problem?: string;
}

export class WriteFaults {
  private healthy = true;
  private lastError: string | undefined;
  private problem: string | undefined;
  private since = 0;
  /** Message -> when it was last logged. */
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly onHealth: (healthy: boolean) => void,
    private readonly logEveryMs = 60_000,
  ) {
    onHealth(true);
  }

  state(): WriteFaultState {
    return {
      healthy: this.healthy,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.problem ? { problem: this.problem } : {}),
    };
  }

  /** A write failed and will be retried after `delayMs`. */
  failed(err: Error, delayMs: number): void {
    if (this.healthy) this.since = Date.now();
    this.healthy = false;
    this.lastError = err.message;
    this.problem = err instanceof WriteUnavailableError ? err.summary : 'InfluxDB unavailable';
    this.onHealth(false);
    // Keyed by the summary: the full message may carry server text that differs at every attempt.
    const key = err instanceof WriteUnavailableError ? err.summary : err.message;
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last < this.logEveryMs) return;
    if (this.logged.size > 100) this.logged.clear();
    this.logged.set(key, now);
    const configuration = err instanceof WriteConfigurationError;
    this.logger.warn(
      { err: err.message, delayMs, kind: configuration ? 'configuration' : 'unavailable' },
      configuration
        ? 'ingest: InfluxDB refuses the configuration; readings wait in the journal until it is fixed'
        : 'ingest: write failed; retrying (readings wait in the journal)',
    );
  }

  /** A write succeeded (or its data was refused: the server answers). */
  succeeded(): void {
    if (this.healthy) return;
    this.logger.info({ afterMs: Date.now() - this.since }, 'ingest: InfluxDB writes resumed');
    this.healthy = true;
    this.problem = undefined;
    this.logged.clear();
    this.onHealth(true);
  }
}
