/**
 * MQTT topic names, in one place. Devices see only the contract's `devices/{deviceId}/...`; services
 * talk on `$platform/...`, which a plain `#` does not match [MQTT-4.7.2-1] and the ACL keeps devices off.
 */

/** Contract: where a device publishes readings. */
export const telemetryTopic = (deviceId: string) => `devices/${deviceId}/telemetry`;

/** ThingsBoard's device API topic; treated as the connected device's own telemetry topic. */
export const THINGSBOARD_TELEMETRY_TOPIC = 'v1/devices/me/telemetry';

/**
 * HTTP ingest: the API publishes a device's posted body here (as `svc:api`, QoS 1) with the time it
 * received it; the broker appends it to the journal with that stamp. Nobody subscribes here.
 */
export const httpIngestTopic = (deviceId: string, receivedAt: number) =>
  `$platform/telemetry/${deviceId}/${receivedAt}`;

export function parseHttpIngestTopic(topic: string): { deviceId: string; receivedAt: number } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== '$platform' || parts[1] !== 'telemetry') return undefined;
  const receivedAt = Number(parts[3]);
  if (!parts[2] || !Number.isSafeInteger(receivedAt)) return undefined;
  return { deviceId: parts[2], receivedAt };
}

/**
 * The broker keeps its journal's state here (retained, `{"full": boolean}`): full while it holds
 * telemetry past INGEST_SPOOL_MAX_MESSAGES; HTTP ingest answers 503 at once meanwhile. (The topic
 * keeps its older name, so processes of two versions on one DATA_DIR still understand each other.)
 */
export const JOURNAL_STATE_TOPIC = '$platform/spool-state';

/** Ingest announces each stored batch here (QoS 0) for the API's live streams. */
export const storedTopic = (pilotId: string, deviceId: string) => `$platform/stored/${pilotId}/${deviceId}`;
export const STORED_TOPIC_FILTER = '$platform/stored/+/+';

export function parseStoredTopic(topic: string): { pilotId: string; deviceId: string } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== '$platform' || parts[1] !== 'stored' || !parts[2] || !parts[3]) {
    return undefined;
  }
  return { pilotId: parts[2], deviceId: parts[3] };
}

/** Usernames of the platform's own MQTT clients; devices' usernames are `dev_...` ids. */
export const SERVICE_USERNAMES = { ingest: 'svc:ingest', api: 'svc:api' } as const;

/**
 * A component running as its own process (`npm run broker`, `npm run ingest`) publishes its metrics
 * here (QoS 0, JSON from prom-client's getMetricsAsJSON) so the API's /metrics shows every component.
 */
export const metricsTopic = (component: 'broker' | 'ingest', instance?: string) =>
  // Cluster mode: one topic per node or worker, so the API keeps every instance's latest sample.
  instance
    ? `$platform/metrics/${component}/${instance.replace(/[/+#]/g, '_')}`
    : `$platform/metrics/${component}`;
export const METRICS_TOPIC_FILTER = '$platform/metrics/#';

/**
 * Live interest: each API process keeps a retained message here listing the pilots and devices its
 * open live streams watch; ingest fans out only stored readings someone watches (serialising every
 * stored batch for nobody cost about a tenth of the platform's CPU on batched load).
 */
export const liveInterestTopic = (apiInstance: string) => `$platform/live-interest/${apiInstance}`;
export const LIVE_INTEREST_FILTER = '$platform/live-interest/+';
export interface LiveInterest {
  /** Pilots watched as a whole. */
  pilots: string[];
  /** Devices watched one by one. */
  devices: string[];
}
