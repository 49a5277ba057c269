/**
 * The quick start's demo: a demo partner, a demo pilot and SIM_DEVICES simulated devices, provisioned
 * once (idempotently) into the registry, then run as a fleet.
 *
 * The platform stores only hashes. The plain demo partner key and device secrets are the demo
 * *client's* own copy (as a partner keeps its key and a device keeps its secret in flash), kept in
 * DATA_DIR/demo/demo.json with mode 0600 so every start can show the key and reconnect the fleet.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { RegistryStore } from '../core/registry/types.js';
import { generateSecret, hashSecret } from '../core/secrets.js';
import { DEFAULT_PROFILES, type Fleet, startFleet } from '../device-sim/fleet.js';
import type { DeviceCredentials } from '../device-sim/types.js';

export interface DemoState {
  partnerId: string;
  apiKey: string;
  pilotId: string;
  devices: { deviceId: string; password: string; profile: string }[];
}

export interface DemoFleet {
  state: DemoState;
  fleet: Fleet;
  close(): Promise<void>;
}

function readState(file: string): DemoState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
  } catch {
    return undefined;
  }
}

/** Creates what is missing of the demo and returns its state (with SIM_DEVICES devices at least). */
export async function provisionDemo(
  registry: RegistryStore,
  dataDir: string,
  deviceCount: number,
): Promise<DemoState> {
  const dir = path.join(dataDir, 'demo');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'demo.json');
  let state = readState(file);

  // A registry reset (new DATA_DIR/registry.db) invalidates the saved demo: start over.
  if (state && !(await registry.getPilotForPartner(state.pilotId, state.partnerId))) state = undefined;
  if (!state) {
    const apiKey = generateSecret();
    const partner = await registry.createPartner(
      { name: 'Demo partner', country: 'DE', kind: 'both' },
      hashSecret(apiKey),
    );
    const pilot = await registry.createPilot({
      name: 'Demo pilot',
      description: 'Simulated devices started by the quick start',
      memberIds: [partner.id],
    });
    state = { partnerId: partner.id, apiKey, pilotId: pilot.id, devices: [] };
  }
  // Devices deleted through the API stay deleted; new ones top the fleet up to the requested size.
  const live = await Promise.all(state.devices.map((d) => registry.getDeviceCredential(d.deviceId)));
  state.devices = state.devices.filter((_, i) => live[i] !== undefined);
  while (state.devices.length < deviceCount) {
    const profile = DEFAULT_PROFILES[state.devices.length % DEFAULT_PROFILES.length]!;
    const password = generateSecret();
    const device = await registry.createDevice(
      state.pilotId,
      {
        name: `demo ${profile} ${state.devices.length + 1}`,
        model: `sim-${profile}`,
        firmwareVersion: '1.0.0',
      },
      hashSecret(password),
    );
    state.devices.push({ deviceId: device.id, password, profile });
  }
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

export async function startDemoFleet(options: {
  registry: RegistryStore;
  dataDir: string;
  devices: number;
  intervalMs: number;
  mqttUrl: string;
  logger: Logger;
}): Promise<DemoFleet> {
  const state = await provisionDemo(options.registry, options.dataDir, options.devices);
  const credentials: DeviceCredentials[] = state.devices.slice(0, options.devices).map((d) => ({
    deviceId: d.deviceId,
    username: d.deviceId,
    password: d.password,
    profile: d.profile,
  }));
  const fleet = await startFleet(
    {
      credentials,
      brokerUrl: options.mqttUrl,
      bufferDir: path.join(options.dataDir, 'demo', 'buffer'),
      intervalMs: options.intervalMs,
      seed: Date.now() % 100_000,
    },
    { logger: options.logger.child({ component: 'sim' }) },
  );
  return { state, fleet, close: () => fleet.close() };
}
