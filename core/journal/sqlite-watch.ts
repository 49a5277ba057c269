/**
 * The SQLite journal's wake-up for ingest: an append in this process calls the watchers at once; an
 * append by another process (`npm run broker` beside `npm run ingest`) shows as a write to the WAL
 * file, seen through fs.watch (inotify) on the journal's folder. Both only wake: ingest reads the rows.
 */
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

type Listener = () => void;

/** Per journal file in this process: its watchers, and when an append here last woke them. */
interface FileState {
  listeners: Set<Listener>;
  lastLocalAppend: number;
  watcher: FSWatcher | undefined;
  /** Open journals of this file in this process. */
  opens: number;
}

const files = new Map<string, FileState>();

/** Writes to the WAL within this long after an append of this process are that append's own. */
const LOCAL_APPEND_MS = 1000;

export interface AppendSignal {
  /** Called after a committed append of this connection. */
  notify(): void;
  watch(listener: Listener): () => void;
  close(): void;
}

export function watchAppends(file: string): AppendSignal {
  const key = path.resolve(file);
  const state = files.get(key) ?? { listeners: new Set(), lastLocalAppend: 0, watcher: undefined, opens: 0 };
  files.set(key, state);
  state.opens++;
  let closed = false;
  const mine = new Set<Listener>();
  const wal = `${path.basename(key)}-wal`;

  const startFsWatch = () => {
    if (state.watcher) return;
    try {
      state.watcher = watch(path.dirname(key), { persistent: false }, (_event, name) => {
        // Another process appended (this one's own appends already called the listeners).
        if (name === wal && Date.now() - state.lastLocalAppend > LOCAL_APPEND_MS) callAll(state);
      });
      state.watcher.on('error', () => stopFsWatch());
    } catch {
      // No inotify (or the folder is gone): ingest falls back to its poll interval.
    }
  };
  const stopFsWatch = () => {
    state.watcher?.close();
    state.watcher = undefined;
  };

  return {
    notify() {
      state.lastLocalAppend = Date.now();
      if (state.listeners.size > 0) callAll(state);
    },
    watch(listener) {
      state.listeners.add(listener);
      mine.add(listener);
      startFsWatch();
      return () => {
        state.listeners.delete(listener);
        mine.delete(listener);
        if (state.listeners.size === 0) stopFsWatch();
      };
    },
    close() {
      if (closed) return;
      closed = true;
      for (const l of mine) state.listeners.delete(l);
      mine.clear();
      if (state.listeners.size === 0) stopFsWatch();
      if (--state.opens === 0) files.delete(key);
    },
  };
}

function callAll(state: FileState) {
  for (const l of state.listeners) l();
}
