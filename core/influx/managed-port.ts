/**
 * The managed influxd's HTTP port. A Grafana data source stores a URL, so the port must not change
 * from one start to the next (issue 16). INFLUX_MANAGED_PORT picks it:
 * - unset: the port this DATA_DIR used last (DATA_DIR/influxdb/influxd.port), else InfluxDB's usual
 *   8086, else any free port; the port used is remembered. So a data dir keeps its port even when
 *   8086 belongs to another InfluxDB (Debian's influxdb package starts one on it). Only when the
 *   remembered port is taken at a later start does it change, with a warning naming the variable.
 * - a number: exactly that port; a start fails, naming INFLUX_MANAGED_PORT, when it is taken.
 * - 0: a new free port at every start (tests).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';

/** InfluxDB 1.x's own default HTTP port. */
export const INFLUXDB_DEFAULT_PORT = 8086;

export type ManagedPort =
  /** A new free port each start. */
  | { kind: 'any' }
  /** This port or a failed start. */
  | { kind: 'fixed'; port: number }
  /** The remembered port, else `preferred`, else a free one (remembered). */
  | { kind: 'stable'; preferred: number };

/** INFLUX_MANAGED_PORT (undefined when unset) as a port choice. */
export function managedPortFromConfig(configured: number | undefined): ManagedPort {
  if (configured === undefined) return { kind: 'stable', preferred: INFLUXDB_DEFAULT_PORT };
  return configured === 0 ? { kind: 'any' } : { kind: 'fixed', port: configured };
}

/** A free loopback port. Another process may take it before influxd binds it; start() retries. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const portFile = (dir: string) => path.join(dir, 'influxd.port');

function rememberedPort(dir: string): number | undefined {
  try {
    const port = Number(readFileSync(portFile(dir), 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

export function rememberPort(dir: string, port: number): void {
  writeFileSync(portFile(dir), `${port}\n`, { mode: 0o600 });
}

/** A Node-style EADDRINUSE, so the entrypoint names INFLUX_MANAGED_PORT (main/port-taken.ts). */
export function portTakenError(port: number): Error {
  return Object.assign(
    new Error(`listen EADDRINUSE: the managed influxd's port 127.0.0.1:${port} is in use`),
    { code: 'EADDRINUSE', port, address: '127.0.0.1' },
  );
}

/** The port to start influxd on now (see the file comment). */
export async function chooseManagedPort(dir: string, choice: ManagedPort, logger?: Logger): Promise<number> {
  if (choice.kind === 'any') return freePort();
  if (choice.kind === 'fixed') {
    if (!(await portIsFree(choice.port))) throw portTakenError(choice.port);
    return choice.port;
  }
  const remembered = rememberedPort(dir);
  if (remembered !== undefined && (await portIsFree(remembered))) return remembered;
  const port = (await portIsFree(choice.preferred)) ? choice.preferred : await freePort();
  if (remembered !== undefined) {
    logger?.warn(
      { was: remembered, now: port },
      `the managed influxd's port ${remembered} is taken; it listens on ${port} now: update a Grafana ` +
        'data source that points at it, or set INFLUX_MANAGED_PORT to keep a port of your choice',
    );
  }
  return port;
}
