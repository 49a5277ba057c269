/**
 * What ingest writes through: one PointWriter interface (core/influx/write.ts) with an implementation
 * per InfluxDB API (core/influx/v1-writer.ts, core/influx/v2-writer.ts). Ingest never learns which one
 * it has; it only sees stored, refused (split the batch), or unavailable (back off, keep the data).
 */
export { type InfluxLineWriterOptions, influxLineWriter } from '../core/influx/v1-writer.js';
export {
  type PointWriter,
  WriteConfigurationError,
  WriteRefusedError,
  WriteUnavailableError,
} from '../core/influx/write.js';
