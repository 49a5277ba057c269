/**
 * The live streams a telemetry plugin has open: closes them all when the server closes, and caps
 * them per API key (issue 19): each holds a socket, a feed subscription and a heartbeat timer, so one
 * partner must not be able to open them without end. Past the cap: 429 `too_many_streams`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { LiveFeed, LiveFilter } from '../live/hub.js';
import { type SseStream, streamReadings } from './sse.js';

export const DEFAULT_MAX_STREAMS_PER_KEY = 20;

export interface OpenStreams {
  /** Answers `request` with a live stream (hijacks the reply), or throws the 429 at the cap. */
  open(request: FastifyRequest, reply: FastifyReply, filter: LiveFilter): void;
  /** Streams open for an API key (its SHA-256, as `request.apiKeyHash`). */
  count(apiKeyHash: string): number;
  closeAll(): void;
}

export function createOpenStreams(opts: {
  liveFeed: LiveFeed;
  heartbeatMs: number;
  maxPerKey?: number;
}): OpenStreams {
  const max = opts.maxPerKey ?? DEFAULT_MAX_STREAMS_PER_KEY;
  const streams = new Set<SseStream>();
  const perKey = new Map<string, number>();
  const release = (key: string) => {
    const left = (perKey.get(key) ?? 1) - 1;
    if (left > 0) perKey.set(key, left);
    else perKey.delete(key);
  };

  return {
    open(request, reply, filter) {
      const key = request.apiKeyHash ?? '';
      const n = perKey.get(key) ?? 0;
      if (n >= max) throw tooManyStreams(max);
      // Counted before the stream answers, so concurrent opens cannot pass the cap together.
      perKey.set(key, n + 1);
      let s: SseStream;
      try {
        s = streamReadings(request, reply, opts.liveFeed, filter, { heartbeatMs: opts.heartbeatMs });
      } catch (err) {
        release(key);
        throw err;
      }
      streams.add(s);
      void s.closed.then(() => {
        streams.delete(s);
        release(key);
      });
    },
    count: (apiKeyHash) => perKey.get(apiKeyHash) ?? 0,
    closeAll() {
      for (const s of streams) s.close();
    },
  };
}

function tooManyStreams(max: number): ApiError {
  return new ApiError(
    429,
    'too_many_streams',
    `at most ${max} live streams may be open per API key; close one first`,
    { maxStreams: max },
  );
}
