/**
 * A real broker (broker/index.ts) on an ephemeral port over a real SQLite registry in a temp dir,
 * plus helpers to register devices and to connect real mqtt.js clients.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { type RunningBroker, startBroker } from '../../broker/index.js';
import type { BrokerConfig } from '../../core/config.js';
import { journalFile } from '../../core/journal/sqlite.js';
import type { JournalEntry } from '../../core/journal/types.js';
import { openSqliteRegistry } from '../../core/registry/sqlite/index.js';
import type { RegistryStore } from '../../core/registry/types.js';
import { generateSecret, hashSecret } from '../../core/secrets.js';
import { SERVICE_USERNAMES } from '../../core/topics.js';

export const SERVICE_SECRET = 'test-service-secret-0123456789abcdef';

export interface TestRegistry {
  dir: string;
  registry: RegistryStore;
  pilotId: string;
  addDevice(): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

/** A registry in a fresh temp dir (also the broker's DATA_DIR) with one partner and one pilot. */
export async function createTestRegistry(
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-test-')),
): Promise<TestRegistry> {
  const registry = openSqliteRegistry(path.join(dir, 'registry.db'));
  const partner = await registry.createPartner(
    { name: `partner-${path.basename(dir)}`, country: 'DE', kind: 'both' },
    hashSecret(generateSecret()),
  );
  const pilot = await registry.createPilot({ name: 'pilot', memberIds: [partner.id] });
  return {
    dir,
    registry,
    pilotId: pilot.id,
    async addDevice() {
      const secret = generateSecret();
      const device = await registry.createDevice(pilot.id, { name: 'dev' }, hashSecret(secret));
      return { id: device.id, secret };
    },
    async close() {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const brokerConfig = (overrides: Partial<BrokerConfig> = {}): BrokerConfig => ({
  persistence: 'memory',
  maxPayloadBytes: 256 * 1024,
  maxTopicLevels: 8,
  deviceMaxMessagesPerSecond: 10_000,
  connectTimeoutMs: 30_000,
  allowAnonymous: false,
  maxKeepaliveSeconds: 1200,
  retainedMaxPerDevice: 100,
  retainedMaxBytesPerDevice: 1024 * 1024,
  // Production default 2000; a short cap keeps test files with many refused CONNECTs quick.
  authFailureMaxDelayMs: 200,
  ...overrides,
  // As in core/config.ts: one second's worth unless set.
  deviceBurstMessages: overrides.deviceBurstMessages ?? overrides.deviceMaxMessagesPerSecond ?? 10_000,
});

export async function startTestBroker(
  reg: TestRegistry,
  overrides: Partial<BrokerConfig> = {},
  spool: { spoolMaxMessages?: number } = {},
): Promise<RunningBroker & { metrics: Registry }> {
  const metrics = new Registry();
  const broker = await startBroker(
    {
      common: { dataDir: reg.dir, logLevel: 'silent', serviceSecret: SERVICE_SECRET },
      mqtt: { host: '127.0.0.1', port: 0, publicUrl: undefined },
      broker: brokerConfig(overrides),
      journal: { maxMessages: spool.spoolMaxMessages ?? 1_000_000 },
    },
    { registry: reg.registry, serviceSecret: SERVICE_SECRET, metrics },
  );
  return { ...broker, metrics };
}

/** Every entry of the SQLite telemetry journal in DATA_DIR `dir` (what ingest would drain), oldest first. */
export function journalRows(dir: string): JournalEntry[] {
  if (!existsSync(journalFile(dir))) return [];
  const db = new Database(journalFile(dir), { readonly: true });
  try {
    const rows = db
      .prepare<[], { seq: number; device_id: string; received_at: number; payload: Buffer }>(
        'SELECT seq, device_id, received_at, payload FROM messages ORDER BY seq',
      )
      .all();
    return rows.map((r) => ({
      id: String(r.seq),
      deviceId: r.device_id,
      receivedAt: r.received_at,
      payload: r.payload,
    }));
  } finally {
    db.close();
  }
}

/** Connects and resolves on CONNACK 0; rejects with the mqtt.js error otherwise. No reconnects. */
export function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

/** The CONNACK return code a CONNECT with these options gets (0 = accepted). */
export function connackCode(url: string, opts: IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err: Error & { code?: number | string }) => {
      client.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
    client.once('close', () => reject(new Error('closed without CONNACK')));
  });
}

export const deviceOptions = (
  device: { id: string; secret: string },
  extra: IClientOptions = {},
): IClientOptions => ({
  clientId: device.id,
  username: device.id,
  password: device.secret,
  ...extra,
});

export const serviceOptions = (service: 'ingest' | 'api', extra: IClientOptions = {}): IClientOptions => ({
  username: SERVICE_USERNAMES[service],
  password: SERVICE_SECRET,
  ...extra,
});

/** Resolves when `check` returns a truthy value; rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Resolves when the client's connection closes (e.g. the broker dropped it). */
export const closed = (client: MqttClient) =>
  new Promise<void>((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });

/**
 * Sends a hand-built MQTT 3.1.1 CONNECT (mqtt.js refuses to send some that a broker must handle, such
 * as an empty client id with clean session off) and resolves with the CONNACK return code.
 */
export function rawConnackCode(
  url: string,
  fields: { clientId: string; clean: boolean; username?: string; password?: string },
): Promise<number> {
  const { hostname, port } = new URL(url);
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  let flags = fields.clean ? 0x02 : 0;
  if (fields.username !== undefined) flags |= 0x80;
  if (fields.password !== undefined) flags |= 0x40;
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags, 0, 60]),
    str(fields.clientId),
    ...(fields.username !== undefined ? [str(fields.username)] : []),
    ...(fields.password !== undefined ? [str(fields.password)] : []),
  ]);
  if (body.length > 127) throw new Error('keep it short: one-byte remaining length only');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    });
    socket.once('data', (data) => {
      socket.destroy();
      if (data[0] !== 0x20) reject(new Error(`expected CONNACK, got ${data.toString('hex')}`));
      else resolve(data[3]!);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed without CONNACK')));
  });
}

/** The SUBACK return codes for these filters (128 = refused), in order. */
export async function subackCodes(
  client: MqttClient,
  filters: Record<string, { qos: 0 | 1 | 2 }>,
): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters);
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted) return packet.granted;
    throw err;
  }
}
