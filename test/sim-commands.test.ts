// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * The simulator answers commands and reports a twin (issue 15), against the real platform:
 * `setInterval` changes how often a live device sends readings, the twin's desired `intervalMs` does
 * the same, `reboot` drops the connection and comes back, an undeclared command gets status error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, startFleet } from '../device-sim/fleet.js';
import { commandsApi } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
let fleet: Fleet | undefined;
const bufferDir = mkdtempSync(path.join(os.tmpdir(), 'sim-commands-'));
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await fleet?.close();
  await platform?.dispose();
  rmSync(bufferDir, { recursive: true, force: true });
});

/** Readings the device takes in `ms`. */
async function readingsIn(device: Fleet['devices'][number], ms: number): Promise<number> {
  const before = device.counters.readingsGenerated;
  await new Promise((r) => setTimeout(r, ms));
  return device.counters.readingsGenerated - before;
}

describe('simulated devices and commands', () => {
  it('answer setInterval and reboot, follow the desired interval, report their twin', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Sim commands');
    const creds = devices[0]!;
    fleet = await startFleet({
      brokerUrl: platform.mqttUrl,
      credentials: [{ ...creds, username: creds.deviceId, profile: 'environment' }],
      bufferDir,
      intervalMs: 1000,
    });
    await fleet.waitConnected();
    const device = fleet.devices[0]!;
    const api = commandsApi(platform, apiKey, creds.deviceId);
    const reported = await waitFor(async () => {
      const t = (await api.twin()).body;
      return t.reported.intervalMs === 1000 ? t.reported : undefined;
    });
    expect(reported).toEqual({ firmwareVersion: '1.0.0', intervalMs: 1000 });

    const { commandId } = (await api.send({ name: 'setInterval', params: { ms: 50 } })).body;
    expect(await api.until(commandId, 'succeeded')).toMatchObject({
      result: { intervalMs: 50, previousIntervalMs: 1000 },
    });
    // 40 readings in 2 s at 50 ms (at most 3 at the old 1 s); a busy machine delays timers, so 10.
    expect(await readingsIn(device, 2000)).toBeGreaterThanOrEqual(10);
    await waitFor(async () => (await api.twin()).body.reported.intervalMs === 50);

    await api.patchTwin({ intervalMs: 2000 });
    await waitFor(async () => (await api.twin()).body.reported.intervalMs === 2000);
    expect(await readingsIn(device, 2000)).toBeLessThanOrEqual(2);

    const bad = (await api.send({ name: 'selfDestruct' })).body.commandId;
    expect((await api.until(bad, 'failed')).result.error).toContain('unknown command');

    const connects = device.counters.connects;
    const reboot = (await api.send({ name: 'reboot', params: { downMs: 200 } })).body.commandId;
    await api.until(reboot, 'succeeded');
    await waitFor(() => device.counters.connects > connects && device.connected, 10_000, 'the device back');
  });
});
