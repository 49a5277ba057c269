/**
 * The telemetry-query part's data (bench/telemetry-query.ts): one partner, pilot and device in a
 * registry file, and one day of the device's readings in InfluxDB, written as ingest writes them.
 */
import path from 'node:path';
import { connectInflux } from '../core/influx/client.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { generateSecret, hashSecret } from '../core/secrets.js';

const DAY = 86_400_000;
export const FROM = Date.UTC(2026, 0, 1);
export const TO = FROM + DAY;
const STEP_MS = 10_000;
export const DATABASE = 'bench';

/** One partner, pilot and device in a registry file, and one day of its readings in InfluxDB. */
export async function seed(dir: string, influxUrl: string) {
  const influx = connectInflux(influxUrl, DATABASE);
  await influx.ensureDatabase();
  const registryFile = path.join(dir, 'registry.db');
  const registry = openSqliteRegistry(registryFile);
  const apiKey = generateSecret();
  const partner = await registry.createPartner(
    { name: 'Bench', country: 'DE', kind: 'both' },
    hashSecret(apiKey),
  );
  const pilot = await registry.createPilot({ name: 'bench', memberIds: [partner.id] });
  const device = await registry.createDevice(
    pilot.id,
    { name: 'bench-device' },
    hashSecret(generateSecret()),
  );
  await registry.close();
  const points = [];
  for (let t = FROM; t < TO; t += STEP_MS) {
    const i = (t - FROM) / STEP_MS;
    points.push({
      measurement: pilot.id,
      tags: { device: device.id },
      fields: { temperature: 20 + Math.sin(i / 100), humidity: 50 + (i % 17) },
      timestamp: t,
    });
  }
  for (let i = 0; i < points.length; i += 5000) {
    await influx.client.writePoints(points.slice(i, i + 5000), { precision: 'ms' });
  }
  return { registryFile, apiKey, pilotId: pilot.id, deviceId: device.id, points: points.length };
}
