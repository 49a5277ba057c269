/**
 * DATA_DIR holds secrets, raw device payloads (the journal) and every partner's telemetry: only the
 * user running the platform may read it. Directories are 0700, files 0600. The entrypoints also set
 * umask 077 (main/run.ts), so files that libraries create (LevelDB, SQLite's -wal and -shm) get 0600;
 * the functions here make the modes hold without it, and tighten data dirs made before (0755/0644).
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';

const OPEN_BITS = 0o077;

/** Removes group and other permissions; false when not possible (not ours, gone). */
function restrict(file: string, mode: number): boolean {
  try {
    if ((mode & OPEN_BITS) !== 0) chmodSync(file, mode & ~OPEN_BITS & 0o7777);
    return true;
  } catch {
    return false;
  }
}

function modeOf(file: string): number | undefined {
  try {
    return lstatSync(file).mode;
  } catch {
    return undefined;
  }
}

/** Creates `dir` (and missing parents) 0700, and makes an existing one 0700. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = modeOf(dir);
  if (mode !== undefined) restrict(dir, mode);
}

/** Removes group and other permissions from everything under `dir` (symlinks are not followed). */
export function tightenTree(dir: string): void {
  const mode = modeOf(dir);
  if (mode === undefined || !restrict(dir, mode)) return;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) tightenTree(file);
    else if (e.isFile()) {
      const m = modeOf(file);
      if (m !== undefined) restrict(file, m);
    }
  }
}

/**
 * Prepares DATA_DIR at a component's start: created 0700; when it was open to others (a data dir from
 * before this rule), everything in it is tightened once.
 */
export function preparePrivateDataDir(dataDir: string): void {
  const before = modeOf(dataDir);
  ensurePrivateDir(dataDir);
  if (before !== undefined && (before & OPEN_BITS) !== 0) tightenTree(dataDir);
}

/**
 * Before SQLite opens `file`: the directory 0700, the database file created 0600 (an empty file is an
 * empty database), and existing -wal/-shm files 0600. SQLite creates -wal and -shm with the mode of
 * the database file, so they follow.
 */
export function prepareSqliteFile(file: string): void {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    const m = modeOf(f);
    if (m !== undefined) restrict(f, m);
  }
}
