/** Prometheus metrics of the ingest worker (registered on the registry the caller passes). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface IngestMetrics {
  spooled: Gauge;
  influxHealthy: Gauge;
  pointsStored: Counter;
  readingsRefused: Counter;
  writeRetries: Counter;
}

export function createIngestMetrics(
  registry: Registry | undefined,
  status: () => Promise<{ spooled: number }>,
): IngestMetrics {
  const registers = registry ? [registry] : [];
  return {
    spooled: new Gauge({
      name: 'ingest_spool_messages',
      help: 'Messages committed to the telemetry spool and not yet stored in InfluxDB (the backlog)',
      registers,
      async collect() {
        this.set((await status()).spooled);
      },
    }),
    influxHealthy: new Gauge({
      name: 'ingest_influx_healthy',
      help: '1 when the last InfluxDB write succeeded, 0 while writes are being retried',
      registers,
    }),
    pointsStored: new Counter({
      name: 'ingest_points_stored_total',
      help: 'Points written to InfluxDB',
      registers,
    }),
    readingsRefused: new Counter({
      name: 'ingest_device_errors_total',
      help: 'Refused messages and readings, recorded as device errors',
      registers,
    }),
    writeRetries: new Counter({
      name: 'ingest_write_retries_total',
      help: 'InfluxDB writes retried after an error (InfluxDB down, 5xx, timeouts)',
      registers,
    }),
  };
}
