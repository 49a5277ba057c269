// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * Commands over MQTT with the real platform (issue 15): delivery to a subscribed device (mqtt.js
 * default client id), to an offline persistent session on reconnect, to a clean session on
 * subscribe; correlation of answers, duplicates, late answers after expiry, malformed answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsApi, connectDevice } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

describe('commands over MQTT', () => {
  it('reach a subscribed device; its answer is correlated; a duplicate answer changes nothing', async () => {
    const { apiKey, devices, partnerId } = await provision(platform, 1, 'Cmd online');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    // mqtt.js defaults: its own random client id, clean session.
    const d = await connectDevice(device);
    await d.client.subscribeAsync(`devices/${device.deviceId}/commands`, { qos: 1 });
    const sent = await api.send({ name: 'setInterval', params: { ms: 500 }, ttlMs: 30_000 });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ status: 'queued', commandId: expect.stringMatching(/^cmd_/) });
    const { commandId } = sent.body;
    const msg = await d.next('/commands');
    expect(msg.body).toMatchObject({
      commandId,
      name: 'setInterval',
      params: { ms: 500 },
      responseTopic: `devices/${device.deviceId}/commands/${commandId}/response`,
    });
    await api.until(commandId, 'delivered');
    await d.client.publishAsync(
      msg.body.responseTopic,
      JSON.stringify({ status: 'ok', result: { ms: 500 } }),
      {
        qos: 1,
      },
    );
    const done = await api.until(commandId, 'succeeded');
    expect(done).toMatchObject({ result: { ms: 500 }, sentBy: partnerId, failedAt: null, expiredAt: null });
    expect(Date.parse(done.queuedAt)).toBeLessThanOrEqual(Date.parse(done.deliveredAt));
    expect(Date.parse(done.deliveredAt)).toBeLessThanOrEqual(Date.parse(done.succeededAt));
    // The same answer again (a QoS 1 redelivery) and a different one: the first answer stands.
    await d.client.publishAsync(msg.body.responseTopic, JSON.stringify({ status: 'error', result: 'late' }), {
      qos: 1,
    });
    expect((await api.get(commandId)).body).toMatchObject({ status: 'succeeded', result: { ms: 500 } });
    expect((await api.list()).body.items.map((c: any) => c.commandId)).toEqual([commandId]);
    await d.client.endAsync();
  });

  it('wait for an offline device with a persistent session and reach it when it reconnects', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Cmd offline');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const options = { clientId: 'board-7', clean: false };
    const first = await connectDevice(device, options);
    await first.client.subscribeAsync(`devices/${device.deviceId}/commands`, { qos: 1 });
    await first.client.endAsync();
    const { commandId } = (await api.send({ name: 'reboot', ttlMs: 30_000 })).body;
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.get(commandId)).body.status).toBe('queued');
    // Back, without subscribing again: the session's subscription brings the command.
    const again = await connectDevice(device, options);
    const msg = await again.next('/commands');
    expect(msg.body).toMatchObject({ commandId, name: 'reboot', params: null });
    await again.client.publishAsync(
      msg.body.responseTopic,
      JSON.stringify({ status: 'error', result: 'busy' }),
      {
        qos: 1,
      },
    );
    expect(await api.until(commandId, 'failed')).toMatchObject({ result: 'busy' });
    await again.client.endAsync();
  });

  it('reach a clean-session device when it subscribes, oldest first', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Cmd clean');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const a = (await api.send({ name: 'first', ttlMs: 30_000 })).body.commandId;
    const b = (await api.send({ name: 'second', ttlMs: 30_000 })).body.commandId;
    const d = await connectDevice(device, { clientId: 'fw-clean', clean: true });
    await d.client.subscribeAsync(`devices/${device.deviceId}/#`, { qos: 1 });
    await waitFor(() => d.received.filter((m) => m.topic.endsWith('/commands')).length >= 2);
    expect(d.received.filter((m) => m.topic.endsWith('/commands')).map((m) => m.body.commandId)).toEqual([
      a,
      b,
    ]);
    await d.client.endAsync();
  });

  it('expire unanswered; a late answer is a device error and changes nothing; an expired command is never sent', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Cmd expiry');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const { commandId } = (await api.send({ name: 'calibrate', ttlMs: 1000 })).body;
    const expired = await api.until(commandId, 'expired');
    expect(expired.deliveredAt).toBeNull();
    expect(Date.parse(expired.expiredAt)).toBeGreaterThanOrEqual(Date.parse(expired.expiresAt));
    const d = await connectDevice(device, { clientId: 'late-board', clean: true });
    await d.client.subscribeAsync(`devices/${device.deviceId}/commands`, { qos: 1 });
    await d.client.publishAsync(
      `devices/${device.deviceId}/commands/${commandId}/response`,
      JSON.stringify({ status: 'ok', result: 1 }),
      { qos: 1 },
    );
    const errors = await waitFor(async () => {
      const e = await api.errors();
      return e.body.items.length > 0 ? e.body.items : undefined;
    });
    expect(errors[0].reason).toContain(`response to command ${commandId} ignored: it is expired`);
    expect((await api.get(commandId)).body).toMatchObject({ status: 'expired', result: null });
    expect(d.received.filter((m) => m.topic.endsWith('/commands'))).toEqual([]);
    await d.client.endAsync();
  });

  it('turn malformed answers and publishes to platform topics into device errors; the device stays connected', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Cmd malformed');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const d = await connectDevice(device);
    const base = `devices/${device.deviceId}`;
    await d.client.publishAsync(`${base}/commands/cmd_x/response`, 'not json', { qos: 1 });
    await d.client.publishAsync(`${base}/commands/cmd_x/response`, JSON.stringify({ status: 'maybe' }), {
      qos: 1,
    });
    await d.client.publishAsync(`${base}/commands/cmd_unknown/response`, JSON.stringify({ status: 'ok' }), {
      qos: 1,
    });
    await d.client.publishAsync(`${base}/commands`, JSON.stringify({ commandId: 'fake' }), { qos: 1 });
    await d.client.publishAsync(`${base}/twin/desired`, JSON.stringify({ a: 1 }), { qos: 1 });
    const reasons = await waitFor(async () => {
      const e = await api.errors();
      return e.body.items.length >= 5 ? e.body.items.map((i: any) => i.reason as string) : undefined;
    });
    expect(reasons.some((r: string) => r.includes('not JSON'))).toBe(true);
    expect(reasons.some((r: string) => r.includes('"status": "ok" or "error"'))).toBe(true);
    expect(reasons.some((r: string) => r.includes('unknown command cmd_unknown'))).toBe(true);
    expect(reasons.filter((r: string) => r.includes('the platform publishes there'))).toHaveLength(2);
    expect(d.client.connected).toBe(true);
    // Another device's command topic: refused (SUBACK 0x80).
    await expect(d.client.subscribeAsync('devices/dev_someoneelse/commands', { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    );
    await d.client.endAsync();
  });
});
