/**
 * Finding PostgreSQL's server binaries and creating a cluster with `initdb`, for the managed server
 * (managed.ts). `initdb` and `postgres` refuse to run as root: as root they run as the `postgres` user
 * that Debian's package creates (through `runuser`), on a directory that user owns.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../influx/managed.js';

const run = promisify(execFile);

export class PostgresMissingError extends Error {
  constructor(what: string) {
    super(
      `${what}. Install PostgreSQL 15 (Debian: apt-get update && apt-get install -y postgresql), ` +
        'or set DATABASE_URL to a PostgreSQL server to use.',
    );
    this.name = 'PostgresMissingError';
  }
}

/** `binDir`, or Debian's newest /usr/lib/postgresql/N/bin with N >= 15. */
export function findPostgresBinDir(binDir?: string): string {
  if (binDir) {
    if (!existsSync(path.join(binDir, 'postgres')))
      throw new PostgresMissingError(`no postgres in ${binDir}`);
    return binDir;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((v) => v >= 15 && existsSync(path.join(root, String(v), 'bin', 'postgres')))
        .sort((a, b) => b - a)
    : [];
  if (versions[0] === undefined)
    throw new PostgresMissingError(`PostgreSQL 15 or newer was not found in ${root}`);
  return path.join(root, String(versions[0]), 'bin');
}

/** How to run PostgreSQL's programs as an unprivileged user: a command prefix and who owns the files. */
export interface RunAs {
  prefix: string[];
  /** uid/gid to give the cluster's directory, when we are root. */
  owner?: { uid: number; gid: number };
}

export function runAsPostgres(): RunAs {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const runuser = findExecutable('runuser');
  if (!runuser)
    throw new PostgresMissingError('running as root needs runuser (util-linux) to drop to postgres');
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new PostgresMissingError("running as root needs the 'postgres' user that the package creates");
  }
  return { prefix: [runuser, '-u', 'postgres', '--'], owner: { uid, gid } };
}

/**
 * Gives `dir` to the postgres user (when root) and checks that it can write there: every parent
 * must let it pass (a 0700 DATA_DIR owned by root does not).
 */
export function handDirToPostgres(dir: string, as: RunAs): void {
  if (!as.owner) return;
  chownSync(dir, as.owner.uid, as.owner.gid);
  try {
    execFileSync(as.prefix[0]!, [...as.prefix.slice(1), 'test', '-w', dir], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `the postgres user cannot write ${dir}: a parent directory does not let it pass; ` +
        'put the PostgreSQL directory where that user can reach it (e.g. under /tmp or /var/lib)',
    );
  }
}

/** The superuser's password, generated once into `file` (0600, the server user's). */
export function loadOrCreatePassword(file: string, as: RunAs, generate: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = generate();
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  if (as.owner) chownSync(file, as.owner.uid, as.owner.gid);
  return password;
}

/**
 * Creates the cluster in `dataDir` once: superuser `postgres` with the password in `passwordFile`,
 * SCRAM authentication for every connection, UTF-8, no locale (byte order: ids sort the same
 * everywhere).
 */
export async function initCluster(
  binDir: string,
  dataDir: string,
  passwordFile: string,
  as: RunAs,
): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const argv = [
    ...as.prefix,
    path.join(binDir, 'initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    `--pwfile=${passwordFile}`,
    '--auth-local=scram-sha-256',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-locale',
  ];
  try {
    await run(argv[0]!, argv.slice(1), { cwd: '/', env: { ...process.env, LC_ALL: 'C' } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`initdb failed: ${e.stderr?.trim() || e.message}`);
  }
}
