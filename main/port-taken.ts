/**
 * A start that fails on a port already in use names the variable to change (issue 16): Node's
 * EADDRINUSE error carries the port, and each port the platform listens on comes from one variable.
 */

export interface PortVariable {
  variable: string;
  port: number | undefined;
}

/** The ports an entrypoint's configuration asked for, with their variables (0: any free port). */
export function portVariables(config: {
  http?: { port: number };
  mqtt?: { port: number };
  mqttListeners?: { tlsPort?: number | undefined; wsPort?: number | undefined; wssPort?: number | undefined };
  influx?: { backend: string; managedPort?: number | undefined };
  metrics?: { brokerPort?: number | undefined; ingestPort?: number | undefined };
}): PortVariable[] {
  return [
    { variable: 'HTTP_PORT', port: config.http?.port },
    { variable: 'MQTT_PORT', port: config.mqtt?.port },
    { variable: 'MQTT_TLS_PORT', port: config.mqttListeners?.tlsPort },
    { variable: 'MQTT_WS_PORT', port: config.mqttListeners?.wsPort },
    { variable: 'MQTT_WSS_PORT', port: config.mqttListeners?.wssPort },
    { variable: 'BROKER_METRICS_PORT', port: config.metrics?.brokerPort },
    { variable: 'INGEST_METRICS_PORT', port: config.metrics?.ingestPort },
    {
      variable: 'INFLUX_MANAGED_PORT',
      port: config.influx?.backend === 'managed' ? config.influx.managedPort : undefined,
    },
  ];
}

/** The message for an EADDRINUSE, or undefined when `err` is something else. */
export function portTakenMessage(err: unknown, ports: PortVariable[]): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE') return undefined;
  const port = e.port ?? Number(/:(\d+)\s*$/.exec(e.message)?.[1]);
  const names = ports.filter((p) => p.port !== undefined && p.port !== 0 && p.port === port);
  const where = e.address ? `${e.address}:${port}` : `port ${port}`;
  const fix =
    names.length > 0
      ? `set ${names.map((n) => n.variable).join(' or ')} to a free port (0 picks any free port)`
      : 'change the port that is taken';
  return (
    `${where} is already in use (another program, or this platform started twice). ` +
    `Stop what uses it (\`ss -ltnp 'sport = :${port}'\` shows it) or ${fix}.`
  );
}
