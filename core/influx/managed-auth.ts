/**
 * Users of the managed influxd (auth on): an admin and the platform user (read and write on the
 * telemetry database only), passwords generated into DATA_DIR/influxdb (0600). A data dir from before
 * auth gets its first admin through InfluxDB's one anonymous statement. docs/DESIGN.md.
 */
import path from 'node:path';
import { generateSecret, loadOrCreateSecretFile } from '../secrets.js';
import type { InfluxAuth } from './client.js';

export const ADMIN_USER = 'admin';
export const PLATFORM_USER = 'platform';

export interface ManagedCredentials {
  admin: InfluxAuth;
  platform: InfluxAuth;
}

export const adminPasswordFile = (influxDir: string) => path.join(influxDir, 'admin-password');
export const platformPasswordFile = (influxDir: string) => path.join(influxDir, 'platform-password');

/** The users' passwords, generated at the first start (base64url: safe inside InfluxQL quotes). */
export function managedCredentials(influxDir: string): ManagedCredentials {
  return {
    admin: { username: ADMIN_USER, password: loadOrCreateSecretFile(adminPasswordFile(influxDir)) },
    platform: { username: PLATFORM_USER, password: loadOrCreateSecretFile(platformPasswordFile(influxDir)) },
  };
}

interface QueryAnswer {
  status: number;
  results: { error?: string; series?: { values?: unknown[][] }[] }[];
  error?: string;
}

/** POST /query (InfluxQL that changes things must be POSTed), as `auth` or anonymously. */
export async function postQuery(
  url: string,
  q: string,
  auth?: InfluxAuth,
  db?: string,
): Promise<QueryAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth)
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const body = new URLSearchParams({ q, ...(db ? { db } : {}) });
  const res = await fetch(`${url}/query`, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: { results?: QueryAnswer['results']; error?: string } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { error: text.slice(0, 200) };
  }
  return {
    status: res.status,
    results: parsed.results ?? [],
    ...(parsed.error ? { error: parsed.error } : {}),
  };
}

async function asAdmin(url: string, admin: InfluxAuth, q: string): Promise<QueryAnswer> {
  const answer = await postQuery(url, q, admin);
  const error = answer.error ?? answer.results.find((r) => r.error)?.error;
  if (answer.status !== 200 || error) {
    throw new Error(
      `managed influxd: '${q.replace(/'[^']*'/g, "'***'")}' failed (${answer.status}): ${error}`,
    );
  }
  return answer;
}

/**
 * Makes sure the admin and platform users exist with the passwords in `influxDir`, and that the
 * platform user may read and write `database` (created here). Idempotent: runs at every start.
 */
export async function provisionManagedUsers(
  url: string,
  influxDir: string,
  database: string,
): Promise<ManagedCredentials> {
  const creds = managedCredentials(influxDir);
  const { admin, platform } = creds;
  const probe = await postQuery(url, 'SHOW USERS', admin);
  if (probe.status === 401 || probe.status === 403) {
    // No admin yet (a new or pre-auth data dir; 403 "create admin user first"): the one statement
    // InfluxDB accepts anonymously.
    const created = await postQuery(
      url,
      `CREATE USER "${ADMIN_USER}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`,
    );
    if (created.status !== 200 || created.error || created.results.some((r) => r.error)) {
      throw new Error(
        `the managed influxd in ${influxDir} has users, but ${adminPasswordFile(influxDir)} is not the ` +
          `password of its "${ADMIN_USER}" user: restore that file from a backup, or set the password ` +
          'again (stop the platform, set auth-enabled = false in influxd.conf, run influxd -config ' +
          `influxd.conf, SET PASSWORD FOR "${ADMIN_USER}" = '<the file's content>', stop it)`,
      );
    }
  }
  // The database name matches [A-Za-z0-9_-] (config), the passwords base64url: quoting is enough.
  await asAdmin(url, admin, `CREATE DATABASE "${database}"`);
  const users = await asAdmin(url, admin, 'SHOW USERS');
  const names = (users.results[0]?.series?.[0]?.values ?? []).map((row) => String(row[0]));
  await asAdmin(
    url,
    admin,
    names.includes(PLATFORM_USER)
      ? `SET PASSWORD FOR "${PLATFORM_USER}" = '${platform.password}'`
      : `CREATE USER "${PLATFORM_USER}" WITH PASSWORD '${platform.password}'`,
  );
  await asAdmin(url, admin, `GRANT ALL ON "${database}" TO "${PLATFORM_USER}"`);
  return creds;
}

const USER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * A user that may only read `database` (for Grafana and other dashboards), with a new generated
 * password; run again to replace the password. Returns the password (shown once, stored nowhere).
 */
export async function createReadOnlyUser(
  url: string,
  influxDir: string,
  database: string,
  name: string,
): Promise<string> {
  if (!USER_NAME.test(name) || name === ADMIN_USER || name === PLATFORM_USER) {
    throw new Error(
      `user name "${name}": expected a letter, then letters, digits, _ or - (not ${ADMIN_USER} or ${PLATFORM_USER})`,
    );
  }
  const { admin } = managedCredentials(influxDir);
  const password = generateSecret();
  const users = await asAdmin(url, admin, 'SHOW USERS');
  const exists = (users.results[0]?.series?.[0]?.values ?? []).some((row) => row[0] === name);
  await asAdmin(
    url,
    admin,
    exists
      ? `SET PASSWORD FOR "${name}" = '${password}'`
      : `CREATE USER "${name}" WITH PASSWORD '${password}'`,
  );
  await asAdmin(url, admin, `REVOKE ALL PRIVILEGES FROM "${name}"`);
  await asAdmin(url, admin, `GRANT READ ON "${database}" TO "${name}"`);
  return password;
}
