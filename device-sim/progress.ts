/**
 * Per-second figures for a running fleet: a single live line on a TTY, plain lines otherwise
 * (logs, CI), and a final summary. Counters stay available programmatically through `fleet.stats()`.
 */
import type { FleetStats } from './fleet.js';

export interface Sample {
  second: number;
  sent: number;
  acked: number;
  readingsAcked: number;
  errors: number;
}

export interface ProgressOptions {
  /** Where lines go; default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Overrides the stream's isTTY. */
  tty?: boolean;
  intervalMs?: number;
}

export interface Progress {
  readonly samples: readonly Sample[];
  /** Stops the reporter and returns the final summary text. */
  stop(): string;
}

export function formatLine(s: Sample, stats: FleetStats): string {
  return (
    `[${String(s.second).padStart(4)}s] online ${stats.connected}/${stats.devices}` +
    ` | sent ${s.sent}/s acked ${s.acked}/s (${s.readingsAcked} readings/s) errors ${s.errors}/s` +
    ` | in flight ${stats.inFlight} | buffered ${stats.buffered}`
  );
}

export function formatSummary(stats: FleetStats, samples: readonly Sample[]): string {
  const secs = Math.max(stats.elapsedMs / 1000, 0.001);
  const peak = samples.reduce((m, s) => Math.max(m, s.acked), 0);
  return [
    `summary: ${stats.devices} devices, ${secs.toFixed(1)} s`,
    `  messages: sent ${stats.messagesSent}, acked ${stats.messagesAcked} (${(stats.messagesAcked / secs).toFixed(0)}/s mean, ${peak}/s peak)`,
    `  readings: taken ${stats.readingsGenerated}, acked ${stats.readingsAcked} (${(stats.readingsAcked / secs).toFixed(0)}/s)` +
      `, buffered ${stats.readingsBuffered}, flushed ${stats.readingsFlushed}, still buffered ${stats.buffered}`,
    `  errors ${stats.errors}, connect errors ${stats.connectErrors}, connects ${stats.connects}, disconnects ${stats.disconnects}` +
      (stats.loadSkipped ? `, load skipped ${stats.loadSkipped}` : ''),
  ].join('\n');
}

export function startProgress(fleet: { stats(): FleetStats }, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const samples: Sample[] = [];
  let prev = fleet.stats();
  const timer = setInterval(() => {
    const now = fleet.stats();
    const sample: Sample = {
      second: samples.length + 1,
      sent: now.messagesSent - prev.messagesSent,
      acked: now.messagesAcked - prev.messagesAcked,
      readingsAcked: now.readingsAcked - prev.readingsAcked,
      errors: now.errors - prev.errors,
    };
    prev = now;
    samples.push(sample);
    const line = formatLine(sample, now);
    stream.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }, options.intervalMs ?? 1000);
  return {
    samples,
    stop() {
      clearInterval(timer);
      if (tty && samples.length > 0) stream.write('\n');
      return formatSummary(fleet.stats(), samples);
    },
  };
}
