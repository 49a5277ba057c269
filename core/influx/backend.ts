/**
 * What the rest of the platform sees of an InfluxDB, whichever API it speaks: a writer for ingest,
 * InfluxQL for the API's reads, and readiness checks for /readyz. Implemented by the 1.x connection
 * (client.ts; also the managed influxd) and the v2 API connection (v2.ts).
 */
import type { ReadinessCheck } from '../readiness.js';
import type { InfluxQL } from './influxql.js';
import type { PointWriter } from './write.js';

export interface InfluxBackend extends InfluxQL {
  kind: 'v1' | 'v2';
  /** Base URL, without credentials (logs, start banner). */
  url: string;
  /** Where the data goes, for people: `database "telemetry"` or `org "o", bucket "b"`. */
  describe: string;
  writer: PointWriter;
  /** For /readyz: each names the part of the server it checks. */
  readiness: ReadinessCheck[];
}
