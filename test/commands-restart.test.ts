// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * Commands and twins survive a restart (issue 15): queued and delivered commands, the twin and the
 * device's persistent session live in DATA_DIR (registry and broker persistence), so after the
 * platform comes back the device gets what waited, answers what it had, and sees the desired state.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { commandsApi, connectDevice } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';

const running: TestPlatform[] = [];
afterAll(async () => {
  for (const p of running) await p.close().catch(() => {});
  for (const p of running) rmSync(p.dataDir, { recursive: true, force: true });
});

describe('commands and twins across a restart', () => {
  it('deliver what waited, accept answers to what was delivered, keep the twin', async () => {
    const first = await startTestPlatform();
    running.push(first);
    const { apiKey, devices } = await provision(first, 1, 'Restart');
    const device = devices[0]!;
    const options = { clientId: 'restart-board', clean: false };
    const base = `devices/${device.deviceId}`;
    const api1 = commandsApi(first, apiKey, device.deviceId);
    // Delivered before the restart, answered after it.
    const d1 = await connectDevice(device, options);
    await d1.client.subscribeAsync([`${base}/commands`, `${base}/twin/desired`], { qos: 1 });
    const delivered = (await api1.send({ name: 'calibrate', ttlMs: 120_000 })).body.commandId;
    const got = await d1.next('/commands');
    await d1.client.endAsync();
    // Queued while the device is away.
    const queued = (await api1.send({ name: 'setInterval', params: { ms: 250 }, ttlMs: 120_000 })).body
      .commandId;
    await api1.patchTwin({ interval: 250 });
    await first.close();

    const second = await startTestPlatform({ DATA_DIR: first.dataDir });
    running.push(second);
    const api2 = commandsApi(second, apiKey, device.deviceId);
    expect((await api2.get(delivered)).body.status).toBe('delivered');
    expect((await api2.get(queued)).body.status).toBe('queued');
    const d2 = await connectDevice({ ...device, mqttUrl: second.mqttUrl }, options);
    const msg = await d2.next('/commands');
    expect(msg.body).toMatchObject({ commandId: queued, params: { ms: 250 } });
    expect((await d2.next('/twin/desired')).body).toEqual({ version: 1, desired: { interval: 250 } });
    for (const id of [got.body.commandId, queued]) {
      await d2.client.publishAsync(`${base}/commands/${id}/response`, JSON.stringify({ status: 'ok' }), {
        qos: 1,
      });
    }
    await api2.until(delivered, 'succeeded');
    await api2.until(queued, 'succeeded');
    expect((await api2.twin()).body).toMatchObject({ desired: { interval: 250 }, version: 1 });
    await d2.client.endAsync();
  });
});
