// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * Commands and the twin for devices over HTTP (issue 15), with the real platform: pending commands
 * taken with the device's Basic auth, answers (first stands, late is 409), twin reports; another
 * device's credentials get 401; cancel; the device's live stream carries command and twin events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsApi } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

describe('commands and twin over HTTP, for devices', () => {
  it('take pending commands, answer them once, report the twin; other credentials get 401', async () => {
    const { apiKey, devices } = await provision(platform, 2, 'Http device');
    const [device, other] = [devices[0]!, devices[1]!];
    const api = commandsApi(platform, apiKey, device.deviceId);
    const auth = basic(device.deviceId, device.password);
    const { commandId } = (await api.send({ name: 'relay', params: { on: true } })).body;
    const url = `/v1/devices/${device.deviceId}/commands`;
    expect(
      (await platform.api(`${url}/pending`, { headers: basic(other.deviceId, other.password) })).status,
    ).toBe(401);
    expect((await platform.api(`${url}/pending`, { key: apiKey })).status).toBe(401);
    const pending = (await (await platform.api(`${url}/pending`, { headers: auth })).json()) as any;
    expect(pending.items).toEqual([
      expect.objectContaining({ commandId, name: 'relay', params: { on: true } }),
    ]);
    expect((await api.get(commandId)).body.status).toBe('delivered');
    // Taken once: the next poll is empty.
    expect(((await (await platform.api(`${url}/pending`, { headers: auth })).json()) as any).items).toEqual(
      [],
    );
    const answer = (body: unknown) =>
      platform.api(`${url}/${commandId}/response`, { method: 'POST', headers: auth, json: body });
    const first = await answer({ status: 'ok', result: { relay: 'on' } });
    expect(first.status).toBe(200);
    expect(((await first.json()) as any).status).toBe('succeeded');
    const again = await answer({ status: 'error', result: 'x' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).result).toEqual({ relay: 'on' });
    expect((await answer({ status: 'maybe' })).status).toBe(400);
    const unknown = await platform.api(`${url}/cmd_nope/response`, {
      method: 'POST',
      headers: auth,
      json: { status: 'ok' },
    });
    expect(unknown.status).toBe(404);
    // Late: expired before the answer.
    const late = (await api.send({ name: 'slow', ttlMs: 1000 })).body.commandId;
    await api.until(late, 'expired');
    const tooLate = await platform.api(`${url}/${late}/response`, {
      method: 'POST',
      headers: auth,
      json: { status: 'ok' },
    });
    expect(tooLate.status).toBe(409);
    expect(((await tooLate.json()) as any).error.details.reason).toBe('command_closed');

    const report = await platform.api(`/v1/devices/${device.deviceId}/twin/reported`, {
      method: 'PATCH',
      headers: auth,
      json: { firmware: '2.0.1', 'bad key': 1 },
    });
    expect(report.status).toBe(400);
    const ok = await platform.api(`/v1/devices/${device.deviceId}/twin/reported`, {
      method: 'PATCH',
      headers: auth,
      json: { firmware: '2.0.1' },
    });
    expect(((await ok.json()) as any).reported).toEqual({ firmware: '2.0.1' });
  });

  it('cancel a queued command only; the live stream carries command and twin events', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Http cancel');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const controller = new AbortController();
    const stream = await platform.api(`/v1/devices/${device.deviceId}/telemetry/stream`, {
      key: apiKey,
      signal: controller.signal,
    });
    let text = '';
    const reader = stream.body!.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value!).toString();
      }
    })();
    const { commandId } = (await api.send({ name: 'reboot' })).body;
    const cancelled = await api.cancel(commandId);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelledAt: expect.any(String) });
    const again = await api.cancel(commandId);
    expect(again.status).toBe(409);
    expect(again.body.error.details.reason).toBe('command_not_queued');
    expect((await api.cancel('cmd_nope')).status).toBe(404);
    await api.patchTwin({ interval: 2000 });
    await waitFor(() => text.includes('"status":"cancelled"') && text.includes('event: twin'));
    expect(text).toContain('event: command');
    expect(text).toContain(`"commandId":"${commandId}","deviceId":"${device.deviceId}"`);
    expect(text).toMatch(/event: twin\ndata: \{"deviceId":"[^"]+","desired":\{"interval":2000\}/);
    controller.abort();
  });
});
