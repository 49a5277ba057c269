// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/** Commands and twins through the real API and real mqtt.js devices (test/commands-*.test.ts, twin-*.test.ts). */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ProvisionedDevice, TestPlatform } from './platform.js';
import { waitFor } from './poll.js';

export interface Received {
  topic: string;
  body: any;
}

/** A device connected as firmware would be (its own options), recording every message it receives. */
export async function connectDevice(
  device: ProvisionedDevice,
  opts: IClientOptions = {},
): Promise<{
  client: MqttClient;
  received: Received[];
  next(topicEnd: string, after?: number): Promise<Received>;
}> {
  const client = await mqtt.connectAsync(device.mqttUrl, {
    username: device.deviceId,
    password: device.password,
    reconnectPeriod: 0,
    ...opts,
  });
  const received: Received[] = [];
  client.on('message', (topic, payload) => {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = payload.toString();
    }
    received.push({ topic, body });
  });
  return {
    client,
    received,
    /** The first message on a topic ending with `topicEnd` at index `after` or later. */
    next: (topicEnd, after = 0) =>
      waitFor(
        () => received.slice(after).find((m) => m.topic.endsWith(topicEnd)),
        10_000,
        `a message on ${topicEnd}`,
      ),
  };
}

export function commandsApi(platform: TestPlatform, apiKey: string, deviceId: string) {
  const json = async (res: Response) => ({
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as any,
  });
  return {
    send: (body: unknown) =>
      platform
        .api(`/v1/devices/${deviceId}/commands`, { method: 'POST', key: apiKey, json: body })
        .then(json),
    get: (commandId: string) =>
      platform.api(`/v1/devices/${deviceId}/commands/${commandId}`, { key: apiKey }).then(json),
    list: () => platform.api(`/v1/devices/${deviceId}/commands`, { key: apiKey }).then(json),
    cancel: (commandId: string) =>
      platform
        .api(`/v1/devices/${deviceId}/commands/${commandId}/cancel`, { method: 'POST', key: apiKey })
        .then(json),
    twin: () => platform.api(`/v1/devices/${deviceId}/twin`, { key: apiKey }).then(json),
    patchTwin: (desired: unknown, ifMatch?: string) =>
      platform
        .api(`/v1/devices/${deviceId}/twin`, {
          method: 'PATCH',
          key: apiKey,
          json: { desired },
          headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
        })
        .then(json),
    errors: () => platform.api(`/v1/devices/${deviceId}/errors`, { key: apiKey }).then(json),
    /** Polls the command until `status`. */
    until: (commandId: string, status: string) =>
      waitFor(
        async () => {
          const r = await platform
            .api(`/v1/devices/${deviceId}/commands/${commandId}`, { key: apiKey })
            .then(json);
          return r.body.status === status ? r.body : undefined;
        },
        10_000,
        `command ${commandId} ${status}`,
      ),
  };
}
