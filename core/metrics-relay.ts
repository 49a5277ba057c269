/**
 * Metrics across processes. In one process the components share a prom-client registry and the API's
 * /metrics serves it. When broker or ingest run as their own processes, each publishes its registry
 * as JSON on `$platform/metrics/{component}` every few seconds (QoS 0: a lost sample is replaced by
 * the next one), and the API merges the latest sample of each into its /metrics answer.
 */
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { metricsTopic } from './topics.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Publishes `registry` every `intervalMs` through `publish` (which may drop while disconnected). */
export function startMetricsPublisher(
  registry: Registry,
  component: 'broker' | 'ingest',
  publish: (topic: string, payload: string) => void,
  intervalMs = 5000,
  instance?: string,
): { stop(): void } {
  const send = async () => {
    try {
      publish(metricsTopic(component, instance), JSON.stringify(await registry.getMetricsAsJSON()));
    } catch {
      // metrics are best effort; the next interval tries again
    }
  };
  const timer = setInterval(send, intervalMs);
  timer.unref();
  void send();
  return { stop: () => clearInterval(timer) };
}

/** The latest sample of each remote component; samples older than `maxAgeMs` are left out. */
export function createRemoteMetrics(maxAgeMs = 30_000, now: () => number = Date.now) {
  const latest = new Map<string, { at: number; metrics: MetricsJson }>();
  return {
    accept(topic: string, payload: Buffer | string): void {
      // `{component}` or, in cluster mode, `{component}/{instance}`: the latest sample of each.
      const component = topic.split('/').slice(2).join('/');
      if (!component) return;
      try {
        const metrics = JSON.parse(String(payload)) as MetricsJson;
        if (Array.isArray(metrics)) latest.set(component, { at: now(), metrics });
      } catch {
        // a malformed sample is ignored; only our own services can publish here (broker ACL)
      }
    },
    /** The Prometheus text of `local` plus every fresh remote sample. */
    async render(local: Registry): Promise<string> {
      const fresh = [...latest.values()].filter((s) => now() - s.at <= maxAgeMs).map((s) => s.metrics);
      if (fresh.length === 0) return local.metrics();
      return AggregatorRegistry.aggregate([await local.getMetricsAsJSON(), ...fresh]).metrics();
    },
  };
}

export type RemoteMetrics = ReturnType<typeof createRemoteMetrics>;

/** The metrics registry of a component running as its own process: default metrics, labelled. */
export function componentMetrics(component: 'broker' | 'ingest' | 'api', instance?: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(instance ? { component, instance } : { component });
  collectDefaultMetrics({ register: registry });
  return registry;
}
