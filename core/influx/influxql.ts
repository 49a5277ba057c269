/**
 * The one interface telemetry reads go through: InfluxQL statements in, InfluxDB's JSON out (times
 * as epoch ms). Implemented by the 1.x connection (client.ts, node-influx) and by the v2 API backend
 * (v2.ts: the v1-compatible `/query` with `Authorization: Token`), so every telemetry route runs the
 * same statements and answers the same on both.
 */

import { decodeMsgpack } from './msgpack.js';
import type { QueryAnswer } from './query-http.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface StatementResult {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
}

export interface InfluxQLResponse {
  results?: StatementResult[];
  error?: string;
}

export interface InfluxQL {
  /** Runs the statements (in one request) and returns the raw answer; rejects when the request fails. */
  query(statements: string[]): Promise<InfluxQLResponse>;
  /**
   * One statement's answer as the bytes InfluxDB sent, for readers that transcode it unparsed: JSON,
   * or MessagePack where the server speaks it (the 1.x backend asks for it).
   */
  queryAnswer(statement: string): Promise<QueryAnswer>;
}

/** The answer parsed the general way, whichever format it came in. */
export function parseQueryAnswer(answer: QueryAnswer): InfluxQLResponse {
  return (
    answer.format === 'msgpack' ? decodeMsgpack(answer.body) : JSON.parse(answer.body.toString())
  ) as InfluxQLResponse;
}
