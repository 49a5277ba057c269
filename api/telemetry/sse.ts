/**
 * Server-sent events over a hijacked Fastify reply (the stream outlives the handler). One `reading`
 * event per stored reading, a comment line as heartbeat (keeps proxies from closing an idle stream
 * and lets the server notice a vanished client), cleanup when the client goes away, and a cut-off
 * for a client that stops reading (its buffer would otherwise grow without bound).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveFeed, LiveFilter } from '../live/hub.js';
import { formatTs } from './time.js';

export interface SseOptions {
  heartbeatMs: number;
  /** A client with more than this many bytes unread is disconnected. */
  maxBufferedBytes?: number;
}

export interface SseStream {
  close(): void;
  closed: Promise<void>;
}

export function streamReadings(
  request: FastifyRequest,
  reply: FastifyReply,
  feed: LiveFeed,
  filter: LiveFilter,
  opts: SseOptions,
): SseStream {
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  reply.hijack();
  const res = reply.raw;
  // Events that arrive before the stream has answered wait here (see `answer` below).
  let early: string[] | undefined = [];
  const answer = () => {
    if (early === undefined) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx: do not buffer the stream.
      'x-accel-buffering': 'no',
    });
    // Tells EventSource how long to wait before reconnecting.
    res.write(`retry: 3000\n: connected\n\n${early.join('')}`);
    early = undefined;
  };

  let done = false;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });

  const write = (chunk: string) => {
    if (done) return;
    if (early !== undefined) {
      early.push(chunk);
      return;
    }
    if (res.writableLength > maxBuffered) {
      request.log.warn({ filter }, 'closing a live stream whose client stopped reading');
      close();
      return;
    }
    res.write(chunk);
  };

  const unsubscribe = feed.subscribe(filter, (batch) => {
    let chunk = '';
    for (const r of batch.readings) {
      const data = JSON.stringify({ deviceId: batch.deviceId, ts: formatTs(r.ts), values: r.values });
      chunk += `event: reading\ndata: ${data}\n\n`;
    }
    write(chunk);
  });
  // Command status and twin changes of the same devices, as `command` and `twin` events (issue 15).
  const unsubscribeChanges = feed.subscribeChanges?.(filter, (_deviceId, change) => {
    const data = change.type === 'command' ? change.command : change.twin;
    write(`event: ${change.type}\ndata: ${JSON.stringify(data)}\n\n`);
  });
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), opts.heartbeatMs);
  // Answer once ingest can know this stream exists (at most a second when the broker is slow or down).
  void Promise.race([
    feed.interestSent?.(),
    new Promise((resolve) => setTimeout(resolve, 1000).unref()),
  ]).then(() => {
    if (!done) answer();
  });

  function close() {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    unsubscribe();
    unsubscribeChanges?.();
    if (early !== undefined && !res.headersSent) answer();
    if (!res.writableEnded) res.end();
    resolveClosed();
  }
  // The response's 'close' fires when the client goes away or the socket breaks: stop listening.
  res.on('close', close);
  return { close, closed };
}
