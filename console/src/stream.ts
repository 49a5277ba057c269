/**
 * Live readings in the browser. EventSource cannot send the API key, so each connection starts by
 * minting a one-use stream token (POST /v1/stream-tokens) and opens `?token=`. EventSource's own
 * reconnect would reuse a spent token, so on any error the stream is closed and reopened here with a
 * fresh token, backing off from 1 s to 30 s.
 */

import type { Value } from './api.js';
import { type Api, ApiError } from './api.js';

export interface LiveReading {
  deviceId: string;
  /** Epoch ms. */
  ts: number;
  values: Record<string, Value>;
}

export type LiveState = 'connecting' | 'open' | 'retrying' | 'stopped';

export function openLive(
  api: Api,
  scope: { deviceId: string } | { pilotId: string },
  onReading: (r: LiveReading) => void,
  onState: (s: LiveState) => void = () => {},
): () => void {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let backoff = 1000;

  const retry = () => {
    if (stopped) return;
    onState('retrying');
    timer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 30_000);
  };

  async function connect() {
    if (stopped) return;
    onState('connecting');
    let url: string;
    try {
      url = (await api.post<{ url: string }>('/v1/stream-tokens', scope)).url;
    } catch (err) {
      // Gone (404) or refused (401): retrying cannot help.
      if (err instanceof ApiError && (err.statusCode === 404 || err.statusCode === 401)) {
        stop();
        return;
      }
      retry();
      return;
    }
    if (stopped) return;
    source = new EventSource(url);
    source.onopen = () => {
      backoff = 1000;
      onState('open');
    };
    source.onerror = () => {
      source?.close();
      source = undefined;
      retry();
    };
    source.addEventListener('reading', (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as {
        deviceId: string;
        ts: string;
        values: Record<string, Value>;
      };
      onReading({ deviceId: data.deviceId, ts: Date.parse(data.ts), values: data.values });
    });
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    source?.close();
    onState('stopped');
  }

  void connect();
  return stop;
}
