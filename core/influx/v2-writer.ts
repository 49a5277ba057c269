/**
 * The PointWriter for the v2 write API (InfluxDB 2.x, 3.x, Cloud) through the official client: one
 * request per call, no retries or buffering of its own; answers mapped to write.ts's outcomes
 * (400/422 refused, 413 split, 401/403/404 configuration, 429/5xx unavailable). docs/DESIGN.md.
 */
import { HttpError, type InfluxDB } from '@influxdata/influxdb-client';
import {
  type PointWriter,
  parseRetryAfter,
  TooLargeError,
  tooLargeSplitter,
  WriteConfigurationError,
  WriteRefusedError,
  WriteUnavailableError,
} from './write.js';

export interface V2WriterOptions {
  /** The client, configured with the URL, token and timeout. */
  client: InfluxDB;
  org: string;
  bucket: string;
}

export function influxV2Writer(opts: V2WriterOptions): PointWriter {
  async function send(lines: string[], signal?: AbortSignal): Promise<void> {
    // A WriteApi per call: its buffer is per instance, and calls run concurrently (INGEST_MAX_IN_FLIGHT).
    const api = opts.client.getWriteApi(opts.org, opts.bucket, 'ms', {
      batchSize: lines.length + 1, // never sends by itself: flush() below sends everything at once
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: lines.length + 1,
      gzipThreshold: 1000,
      // A returned promise replaces the client's own handling: no retry buffer, no console logging.
      writeFailed: (error: Error) => Promise.reject(error),
    });
    api.writeRecords(lines);
    try {
      await abortable(api.flush(), signal);
    } catch (err) {
      // The client expects 204 (or 201); any other 2xx still means stored.
      if (err instanceof HttpError && err.statusCode >= 200 && err.statusCode < 300) return;
      throw mapWriteError(err, opts);
    }
  }
  return { write: tooLargeSplitter(send) };
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new WriteUnavailableError('write abandoned: stopping', 'stopping'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The server's message without the client's "status text : body" wrapping. */
function serverMessage(err: HttpError): string {
  const json = err.json as { message?: unknown } | undefined;
  const text = typeof json?.message === 'string' ? json.message : (err.body ?? err.message);
  return String(text).slice(0, 300);
}

function mapWriteError(err: unknown, opts: V2WriterOptions): Error {
  if (err instanceof WriteUnavailableError) return err;
  if (!(err instanceof HttpError)) {
    const e = err as NodeJS.ErrnoException;
    return new WriteUnavailableError(
      `InfluxDB unreachable: ${e.code ?? ''} ${e.message}`.trim(),
      'InfluxDB unreachable',
    );
  }
  const status = err.statusCode;
  const said = serverMessage(err);
  if (status === 400 || status === 422) return new WriteRefusedError(status, err.body ?? said);
  if (status === 413) return new TooLargeError(err.body ?? said);
  if (status === 401) {
    return new WriteConfigurationError(
      `InfluxDB refused INFLUX_TOKEN (401: ${said}): set a valid API token`,
      'configuration: InfluxDB refused INFLUX_TOKEN (401)',
    );
  }
  if (status === 403) {
    return new WriteConfigurationError(
      `INFLUX_TOKEN may not write to bucket "${opts.bucket}" of org "${opts.org}" (403: ${said}): ` +
        'give the token write permission on INFLUX_BUCKET',
      'configuration: INFLUX_TOKEN may not write to INFLUX_BUCKET (403)',
    );
  }
  if (status === 404) {
    return new WriteConfigurationError(
      `InfluxDB answered 404 to /api/v2/write (${said}): check that INFLUX_ORG "${opts.org}" and INFLUX_BUCKET ` +
        `"${opts.bucket}" exist, and that INFLUX_URL is an InfluxDB 2.x, 3.x or Cloud URL`,
      'configuration: org or bucket not found (404); check INFLUX_ORG and INFLUX_BUCKET',
    );
  }
  return new WriteUnavailableError(
    `InfluxDB answered ${status}: ${said}`,
    `InfluxDB answered ${status}`,
    parseRetryAfter(err.headers?.['retry-after']),
  );
}
