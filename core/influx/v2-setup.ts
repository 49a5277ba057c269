/**
 * What the v2 API backend prepares besides writing: the DBRP mapping InfluxQL needs on InfluxDB 2.x
 * (created when missing and allowed, else the `influx` command is logged and shown by /readyz), and
 * readiness probes. A write-only server still gets every reading.
 */
import type { InfluxDB } from '@influxdata/influxdb-client';
import { BucketsAPI, DbrpsAPI } from '@influxdata/influxdb-client-apis';
import type { Logger } from '../log.js';
import { type ReadinessCheck, ReadinessProblem } from '../readiness.js';

export interface V2Target {
  /** Base URL without a trailing slash. */
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** The InfluxQL database name (DBRP) of the bucket. */
  database: string;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;
const denied = (err: unknown) => statusOf(err) === 401 || statusOf(err) === 403;

/** The command an operator runs to map the database to the bucket. */
export function dbrpCommand(t: V2Target, bucketId: string | undefined): string {
  const id = bucketId ?? `<the id that 'influx bucket list --org ${t.org} --name ${t.bucket}' shows>`;
  return `influx v1 dbrp create --org ${t.org} --bucket-id ${id} --db ${t.database} --rp autogen --default`;
}

/**
 * Makes sure InfluxQL database `database` maps to the bucket. Never throws: returns undefined when
 * the mapping exists, was created, or the server has no DBRP API; otherwise what to run.
 */
export async function ensureDbrp(
  client: InfluxDB,
  t: V2Target,
  logger?: Logger,
): Promise<string | undefined> {
  const dbrps = new DbrpsAPI(client);
  try {
    const found = await dbrps.getDBRPs({ org: t.org, db: t.database });
    if ((found.content ?? []).some((m) => m.database === t.database)) return undefined;
  } catch (err) {
    // 404/400: no DBRP API (InfluxDB 3, a write-only server); the query probe says whether reads work.
    if (!denied(err)) return undefined;
  }
  let bucketId: string | undefined;
  try {
    const found = await new BucketsAPI(client).getBuckets({ org: t.org, name: t.bucket });
    bucketId = found.buckets?.find((b) => b.name === t.bucket)?.id;
  } catch {
    // not allowed to list buckets: the command below says how to find the id
  }
  if (bucketId) {
    try {
      await dbrps.postDBRP({
        body: {
          org: t.org,
          bucketID: bucketId,
          database: t.database,
          retention_policy: 'autogen',
          default: true,
        },
      });
      logger?.info(
        { database: t.database, bucket: t.bucket },
        'created the InfluxQL (DBRP) mapping for the bucket',
      );
      return undefined;
    } catch {
      // typically 401/403: the token may write but not manage mappings
    }
  }
  const hint =
    `InfluxQL database "${t.database}" is not mapped to bucket "${t.bucket}" and INFLUX_TOKEN may not create ` +
    `the mapping; telemetry reads need it. Run: ${dbrpCommand(t, bucketId)}`;
  logger?.warn(hint);
  return hint;
}

async function fetchWithToken(t: V2Target, path: string, timeoutMs = 2000): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    headers: { authorization: `Token ${t.token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** Readiness: the server answers at all (`/ping`; any answer below 500). */
async function reachable(t: V2Target): Promise<void> {
  let res: Response;
  try {
    res = await fetchWithToken(t, '/ping');
    await res.body?.cancel();
  } catch {
    throw new ReadinessProblem('InfluxDB unreachable at INFLUX_URL');
  }
  if (res.status >= 500) throw new ReadinessProblem(`InfluxDB answered ${res.status} to /ping`);
}

/** Readiness: InfluxQL answers for the database (`SHOW MEASUREMENTS LIMIT 1`). */
async function queryable(t: V2Target, dbrpHint: () => string | undefined): Promise<void> {
  const q = encodeURIComponent('SHOW MEASUREMENTS LIMIT 1');
  let res: Response;
  try {
    res = await fetchWithToken(t, `/query?db=${encodeURIComponent(t.database)}&q=${q}`);
  } catch {
    throw new ReadinessProblem('InfluxDB unreachable at INFLUX_URL');
  }
  if (res.status === 401 || res.status === 403)
    throw new ReadinessProblem(
      `INFLUX_TOKEN may not read bucket "${t.bucket}" through /query (${res.status})`,
    );
  let body: { results?: { error?: string; series?: { name: string }[] }[]; error?: string; message?: string };
  try {
    body = JSON.parse(await res.text());
  } catch {
    body = {};
  }
  const writeOnly =
    'the server does not answer InfluxQL on /query: readings are stored, but telemetry reads through the API fail';
  const error = body.error ?? body.results?.[0]?.error ?? body.message;
  if (body.results && !error && res.ok) {
    // A stand-in that answers every query with something else (e.g. a database list) is not InfluxQL.
    const name = body.results[0]?.series?.[0]?.name;
    if (name !== undefined && name !== 'measurements') throw new ReadinessProblem(writeOnly);
    return;
  }
  // 2.x without a DBRP mapping: "database not found", "no dbrp mapping", ...
  if (error && /database|dbrp|retention/i.test(error))
    throw new ReadinessProblem(
      dbrpHint() ?? `InfluxQL on /query fails for database "${t.database}": ${error.slice(0, 200)}`,
    );
  if (res.status === 404 || res.status === 405 || !error) throw new ReadinessProblem(writeOnly);
  throw new ReadinessProblem(`InfluxQL on /query fails for database "${t.database}": ${error.slice(0, 200)}`);
}

export function v2ReadinessChecks(t: V2Target, dbrpHint: () => string | undefined): ReadinessCheck[] {
  return [
    { name: 'influxdb', check: () => reachable(t) },
    { name: 'influxdb-query', check: () => queryable(t, dbrpHint) },
  ];
}
