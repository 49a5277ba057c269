/**
 * The v2 API backend (InfluxDB 2.x, 3.x, Cloud): writes through the official client's write API
 * (v2-writer.ts), reads as InfluxQL on the v1-compatible `/query` with `Authorization: Token`, the
 * bucket named by its DBRP database (v2-setup.ts).
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import type { V2InfluxConfig } from '../config-influx.js';
import type { Logger } from '../log.js';
import type { InfluxBackend } from './backend.js';
import { type InfluxQLResponse, parseQueryAnswer, type StatementResult } from './influxql.js';
import { influxQueryBody } from './query-http.js';
import { ensureDbrp, type V2Target, v2ReadinessChecks } from './v2-setup.js';
import { influxV2Writer } from './v2-writer.js';

export interface InfluxV2Connection extends InfluxBackend {
  kind: 'v2';
  org: string;
  bucket: string;
  database: string;
  client: InfluxDB;
}

export interface V2ConnectOptions {
  timeoutMs?: number;
  logger?: Logger | undefined;
  /** Create the DBRP mapping when missing (default true). */
  setupDbrp?: boolean;
}

/** Statements sent at once: InfluxDB 3 answers one statement per request (influxdb#24771). */
const QUERY_CONCURRENCY = 8;

export async function connectInfluxV2(
  config: Pick<V2InfluxConfig, 'url' | 'token' | 'org' | 'bucket' | 'database'>,
  opts: V2ConnectOptions = {},
): Promise<InfluxV2Connection> {
  const target: V2Target = { ...config, url: config.url.replace(/\/+$/, '') };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const client = new InfluxDB({ url: target.url, token: target.token, timeout: timeoutMs });
  let dbrpHint: string | undefined;
  // A short timeout: a server that does not answer must not hold up the start (ingest waits anyway).
  const setupClient = new InfluxDB({ url: target.url, token: target.token, timeout: 5000 });
  if (opts.setupDbrp ?? true) dbrpHint = await ensureDbrp(setupClient, target, opts.logger);

  const body = influxQueryBody({
    url: target.url,
    headers: { authorization: `Token ${target.token}` },
    timeoutMs,
  });
  const queryAnswer = (statement: string) => body({ db: target.database, epoch: 'ms', q: statement });
  const one = async (statement: string) => parseQueryAnswer(await queryAnswer(statement));

  async function query(statements: string[]): Promise<InfluxQLResponse> {
    const answers: InfluxQLResponse[] = new Array(statements.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < statements.length; i = next++) answers[i] = await one(statements[i] as string);
    };
    await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, statements.length) }, worker));
    const failed = answers.find((a) => a.error);
    if (failed) return { error: failed.error };
    const results: StatementResult[] = answers.map((a, i) => ({
      ...(a.results?.[0] ?? {}),
      statement_id: i,
    }));
    return { results };
  }

  return {
    kind: 'v2',
    url: target.url,
    org: target.org,
    bucket: target.bucket,
    database: target.database,
    describe: `org "${target.org}", bucket "${target.bucket}" (InfluxQL database "${target.database}")`,
    client,
    writer: influxV2Writer({ client, org: target.org, bucket: target.bucket }),
    readiness: v2ReadinessChecks(target, () => dbrpHint),
    query,
    queryAnswer,
  };
}
