/**
 * Provisioning through the platform's REST API (the typed client generated from its OpenAPI document,
 * core/api-client), and the credentials file.
 *
 * The file keeps device secrets, which the API shows only once: it is written with mode 0600,
 * atomically (temp file, then rename), so a crash never leaves half a file.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { type ApiClientOptions, createApiClient, dataOf } from '../core/api-client/index.js';
import { ApiError } from '../core/api-error.js';
import type { DeviceCredentials } from './types.js';

export type { ApiClientOptions };
export { ApiError };

export interface ProvisionOptions extends ApiClientOptions {
  pilotId: string;
  count: number;
  /** Device names are `${namePrefix}-${n}`. Default `sim`. */
  namePrefix?: string;
  /** Profiles assigned round-robin; recorded as the device's `model` and in the credentials. */
  profiles?: readonly string[];
  /** Requests in parallel. Default 8. */
  concurrency?: number;
}

/** Creates `count` devices via POST /v1/pilots/{pilotId}/devices and returns their credentials. */
export async function provisionDevices(opts: ProvisionOptions): Promise<DeviceCredentials[]> {
  const out: DeviceCredentials[] = new Array(opts.count);
  const profiles = opts.profiles?.length ? opts.profiles : undefined;
  const api = createApiClient(opts);
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      const i = next++;
      const name = `${opts.namePrefix ?? 'sim'}-${i + 1}`;
      const profile = profiles?.[i % profiles.length];
      const created = dataOf(
        await api.POST('/v1/pilots/{pilotId}/devices', {
          params: { path: { pilotId: opts.pilotId } },
          body: { name, ...(profile ? { model: profile, metadata: { simulated: true, profile } } : {}) },
        }),
        `POST /v1/pilots/${opts.pilotId}/devices`,
      );
      out[i] = {
        deviceId: created.id,
        username: created.credentials.username,
        password: created.credentials.password,
        mqttUrl: created.credentials.mqttUrl,
        topic: created.credentials.topic,
        profile,
        name,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, opts.count) }, worker));
  return out;
}

const credentialSchema = z.object({
  deviceId: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  mqttUrl: z.string().optional(),
  topic: z.string().optional(),
  profile: z.string().optional(),
  name: z.string().optional(),
});
// A `{devices: [...]}` file (what saveCredentials writes) or a bare array.
const credentialsFileSchema = z.object({ devices: z.array(credentialSchema) }).loose();

export interface CredentialsFileMeta {
  apiUrl?: string | undefined;
  pilotId?: string | undefined;
}

export async function saveCredentials(
  file: string,
  devices: readonly DeviceCredentials[],
  meta: CredentialsFileMeta = {},
): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const text = `${JSON.stringify({ version: 1, createdAt: new Date().toISOString(), ...meta, devices }, null, 2)}\n`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600); // the mode above is filtered by the umask
  await rename(tmp, file);
}

export async function loadCredentials(file: string): Promise<DeviceCredentials[]> {
  const raw: unknown = JSON.parse(await readFile(file, 'utf8'));
  const parsed = credentialsFileSchema.safeParse(Array.isArray(raw) ? { devices: raw } : raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${file}: not a credentials file (${first?.path.join('.')}: ${first?.message})`);
  }
  return parsed.data.devices;
}
