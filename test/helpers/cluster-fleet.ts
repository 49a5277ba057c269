/**
 * Devices as firmware runs them against a cluster: a fixed client id, clean session off, QoS 1, and
 * every broker node in mqtt.js' `servers` list (each device starts on its own node, i mod n), so a
 * device whose node dies reconnects to the next one and re-sends what was not acknowledged.
 */
import mqtt from 'mqtt';
import { publishReadings, recordAck } from './ingest.js';

export interface FailoverFleetOptions {
  ratePerDevice: number;
  /** QoS 1 messages in flight per device. Default 20. */
  window?: number;
  tsBase?: number;
  onAck?: (total: number) => void;
}

export interface FailoverFleetResult {
  /** `{deviceId}:{ts}` of every acknowledged reading. */
  acked: Set<string>;
  /** Connections made after the first, over all devices. */
  reconnects: number;
  /** Per device: the port it started on, the one it ended on, its connections and when it finished. */
  devices: Map<
    string,
    {
      /** The node of its first connection (a busy node may refuse one with CONNACK 3). */
      startedOn: number;
      endedOn: number;
      connects: number;
      finishedAt: number;
    }
  >;
}

export async function runFailoverFleet(
  ports: number[],
  devices: { id: string; secret: string }[],
  perDevice: number,
  opts: FailoverFleetOptions,
): Promise<FailoverFleetResult> {
  const window = opts.window ?? 20;
  const tsBase = opts.tsBase ?? 1_700_000_000_000;
  const acked = new Set<string>();
  const summary: FailoverFleetResult['devices'] = new Map();
  let reconnects = 0;
  await Promise.all(
    devices.map(async (d, index) => {
      const order = ports.map((_, k) => ports[(index + k) % ports.length]!);
      const client = mqtt.connect({
        servers: order.map((port) => ({ host: '127.0.0.1', port })),
        clientId: d.id,
        username: d.id,
        password: d.secret,
        clean: false,
        reconnectPeriod: 200,
        connectTimeout: 5000,
      });
      let connects = 0;
      let firstOn = 0;
      client.on('connect', () => {
        firstOn ||= (client.options as { port: number }).port;
        if (connects++ > 0) reconnects++;
      });
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      await publishReadings(client, d.id, perDevice, {
        window,
        tsBase,
        ratePerDevice: opts.ratePerDevice,
        onAck: recordAck(acked, d.id, opts.onAck),
      });
      const endedOn = (client.options as { port: number }).port;
      summary.set(d.id, { startedOn: firstOn, endedOn, connects, finishedAt: Date.now() });
      await client.endAsync();
    }),
  );
  return { acked, reconnects, devices: summary };
}
