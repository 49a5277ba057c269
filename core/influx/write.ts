/**
 * The one interface ingest writes through, whichever InfluxDB is behind it, and the outcomes every
 * answer maps to: stored, refused data (split the batch), a configuration fault (wait), unavailable
 * (retry with backoff). docs/DESIGN.md, "InfluxDB".
 */

export interface PointWriter {
  /** Resolves when every line is stored; rejects with one of the errors below. */
  write(lines: string[], signal?: AbortSignal): Promise<void>;
}

export class WriteRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`InfluxDB refused the write (${status}): ${body.slice(0, 300)}`);
    this.name = 'WriteRefusedError';
  }

  /** The server's own words: 1.x answers `{"error": ...}`, 2.x/3.x `{"code", "message"}`. */
  get reason(): string {
    try {
      const parsed = JSON.parse(this.body) as { error?: unknown; message?: unknown };
      const text = typeof parsed.error === 'string' ? parsed.error : parsed.message;
      if (typeof text === 'string' && text !== '') return text.slice(0, 300);
    } catch {}
    return this.body.slice(0, 300) || `status ${this.status}`;
  }
}

export class WriteUnavailableError extends Error {
  constructor(
    message: string,
    /** Said without addresses or server text: safe for the public /readyz. */
    readonly summary: string = 'InfluxDB unavailable',
    /** The server's Retry-After, in ms: the next attempt waits at least this long. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'WriteUnavailableError';
  }
}

/** A fault of the configuration, not of the data or the server: fixed by an operator. */
export class WriteConfigurationError extends WriteUnavailableError {
  constructor(message: string, summary: string) {
    super(message, summary);
    this.name = 'WriteConfigurationError';
  }
}

/** A 413 from a send: the writer splits the lines and tries again. */
export class TooLargeError extends Error {
  constructor(readonly body: string) {
    super('request body too large (413)');
  }
}

/** Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date; in ms, or undefined. */
export function parseRetryAfter(
  value: string | string[] | undefined | null,
  now = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Math.min(Number(v.trim()), 3600) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), 3_600_000);
}

/**
 * Sends `lines` in requests of at most half the smallest body the server has refused with 413 so
 * far (learned in bytes, not lines, so one huge line does not shrink every later request). A 413
 * splits the request in halves; a single line that is still too large is refused as data.
 */
export function tooLargeSplitter(send: (lines: string[], signal?: AbortSignal) => Promise<void>) {
  let limitBytes = Number.POSITIVE_INFINITY;
  const bytes = (lines: string[]) => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);

  async function sendOne(lines: string[], signal?: AbortSignal): Promise<void> {
    try {
      await send(lines, signal);
    } catch (err) {
      if (!(err instanceof TooLargeError)) throw err;
      if (lines.length === 1)
        throw new WriteRefusedError(413, err.body || 'line larger than the server accepts');
      // Later requests stay at half the smallest refused body: the size of the halves sent next.
      limitBytes = Math.min(limitBytes, Math.floor(bytes(lines) / 2));
      const mid = lines.length >>> 1;
      await sendOne(lines.slice(0, mid), signal);
      await sendOne(lines.slice(mid), signal);
    }
  }

  return async function write(lines: string[], signal?: AbortSignal): Promise<void> {
    if (limitBytes === Number.POSITIVE_INFINITY) return sendOne(lines, signal);
    let chunk: string[] = [];
    let size = 0;
    for (const line of lines) {
      const n = Buffer.byteLength(line) + 1;
      if (chunk.length > 0 && size + n > limitBytes) {
        await sendOne(chunk, signal);
        chunk = [];
        size = 0;
      }
      chunk.push(line);
      size += n;
    }
    if (chunk.length > 0) await sendOne(chunk, signal);
  };
}
