/** Prometheus metrics of the ingest worker (registered on the registry the caller passes). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  backlog: Gauge;
  influxHealthy: Gauge;
  pointsStored: Counter;
  readingsRefused: Counter;
  writeRetries: Counter;
  writeDuration: Histogram<'outcome'>;
  batchPoints: Histogram;
  oldestAge: Gauge;
}

/** What the gauges read when scraped. */
export interface IngestMetricsState {
  backlog(): Promise<number>;
  /** When the oldest entry still in the journal was accepted (epoch ms); undefined when empty or unknown. */
  oldestReceivedAt(): Promise<number | undefined>;
  now(): number;
}

export function createIngestMetrics(
  registry: Registry | undefined,
  state: IngestMetricsState,
): IngestMetrics {
  const registers = registry ? [registry] : [];
  return {
    backlog: new Gauge({
      name: 'ingest_spool_messages',
      help: 'Messages committed to the telemetry journal and not yet stored in InfluxDB (the backlog)',
      registers,
      async collect() {
        this.set(await state.backlog());
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
    writeDuration: new Histogram({
      name: 'ingest_write_duration_seconds',
      help: 'InfluxDB write requests, by outcome: stored, refused (400/422: split), failed (retried)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchPoints: new Histogram({
      name: 'ingest_batch_points',
      help: 'Points per batch handed to InfluxDB (INGEST_BATCH_SIZE caps it)',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000],
      registers,
    }),
    oldestAge: new Gauge({
      name: 'ingest_journal_oldest_age_seconds',
      help: 'Age of the oldest reading in the telemetry journal, not yet stored in InfluxDB (0 when empty)',
      registers,
      async collect() {
        const at = await state.oldestReceivedAt();
        this.set(at === undefined ? 0 : Math.max(0, (state.now() - at) / 1000));
      },
    }),
  };
}
