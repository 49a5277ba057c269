/**
 * Issue 16: the managed influxd keeps its port from one start to the next (a Grafana data source
 * stores the URL). Real influxd processes on loopback; the "preferred" port stands in for 8086,
 * which a test never takes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startManagedInfluxd } from '../core/influx/managed.js';
import { freePort, managedPortFromConfig } from '../core/influx/managed-port.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'managed-port-'));
  dirs.push(d);
  return d;
};

async function hold(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return server;
}
const release = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));
const portOf = (url: string) => Number(new URL(url).port);

describe('INFLUX_MANAGED_PORT', () => {
  it('maps to a choice: unset -> stable (8086 first), 0 -> any free port, N -> exactly N', () => {
    expect(managedPortFromConfig(undefined)).toEqual({ kind: 'stable', preferred: 8086 });
    expect(managedPortFromConfig(0)).toEqual({ kind: 'any' });
    expect(managedPortFromConfig(9999)).toEqual({ kind: 'fixed', port: 9999 });
  });

  it('unset: the preferred port, the same at the next start; another one, remembered, while it is taken', async () => {
    const dir = tempDir();
    const preferred = await freePort();
    const port = { kind: 'stable' as const, preferred };
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), info: () => {} } as never;

    const first = await startManagedInfluxd({ dir, auth: false, port });
    expect(portOf(first.url)).toBe(preferred);
    await first.stop();
    const second = await startManagedInfluxd({ dir, auth: false, port });
    expect(second.url).toBe(first.url);
    await second.stop();

    // Someone else takes it: a start still works, on another port, and says what to do.
    const squatter = await hold(preferred);
    let moved: string;
    try {
      const third = await startManagedInfluxd({ dir, auth: false, port, logger });
      moved = third.url;
      expect(portOf(moved)).not.toBe(preferred);
      expect(warnings.join('\n')).toMatch(/port \d+ is taken; it listens on \d+ now.*INFLUX_MANAGED_PORT/);
      await third.stop();
    } finally {
      await release(squatter);
    }
    // That port is now the data dir's own, even though the preferred one is free again.
    const fourth = await startManagedInfluxd({ dir, auth: false, port });
    expect(fourth.url).toBe(moved);
    await fourth.stop();
  });

  it('a number: exactly that port, and a taken one fails with EADDRINUSE and the port', async () => {
    const wanted = await freePort();
    const server = await startManagedInfluxd({
      dir: tempDir(),
      auth: false,
      port: { kind: 'fixed', port: wanted },
    });
    expect(portOf(server.url)).toBe(wanted);
    await expect(
      startManagedInfluxd({ dir: tempDir(), auth: false, port: { kind: 'fixed', port: wanted } }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE', port: wanted });
    await server.stop();
  });
});
