/**
 * The simulator's command line: flags (cli-args.ts) into fleet options, credentials provisioned or
 * loaded, the fleet run. `main/sim.ts` is the entrypoint; this module never reads process.env or exits.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../core/log.js';
import { type SimCliConfig, UsageError } from './cli-args.js';
import { DEFAULT_PROFILES, type Fleet, type FleetStats, startFleet } from './fleet.js';
import { BUILTIN_PROFILES, loadProfileFile, type Profile, resolveProfile } from './profiles.js';
import { formatSummary, type Progress, startProgress } from './progress.js';
import { loadCredentials, provisionDevices, saveCredentials } from './provision.js';
import type { DeviceCredentials } from './types.js';

export { HELP, parseSimArgs, type SimCliConfig, UsageError } from './cli-args.js';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** Loads the credentials file, or provisions devices through the API and saves them. */
export async function resolveCredentials(
  config: SimCliConfig,
  profileNames: string[],
  logger: Logger,
): Promise<DeviceCredentials[]> {
  const file = config.credentialsFile;
  if (file && (await exists(file))) {
    const creds = await loadCredentials(file);
    logger.info({ file, devices: creds.length }, 'using saved device credentials');
    return creds;
  }
  const { apiKey, pilotId, apiUrl, count, namePrefix } = config.provision;
  if (!apiKey || !pilotId) {
    throw new UsageError(
      file
        ? `${file} does not exist; pass --api-key and --pilot to create devices and save them there`
        : 'no devices: pass --credentials FILE, or --api-key KEY and --pilot ID to create devices (see --help)',
    );
  }
  const creds = await provisionDevices({
    apiUrl,
    apiKey,
    pilotId,
    count,
    namePrefix,
    profiles: profileNames,
  });
  const target = file ?? config.defaultCredentialsFile;
  await saveCredentials(target, creds, { apiUrl, pilotId });
  logger.info(
    { file: target, devices: creds.length, pilotId },
    'created devices; credentials saved (mode 0600)',
  );
  return creds;
}

export interface RunningSim {
  fleet: Fleet;
  /** Resolves when --duration has elapsed (never without it). */
  finished: Promise<void>;
  /** Stops the fleet cleanly and returns the final summary text. */
  stop(): Promise<{ summary: string; stats: FleetStats }>;
}

export interface RunIo {
  logger: Logger;
  /** Receives progress lines. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function loadProfiles(config: SimCliConfig): Promise<{ library: Profile[]; names: string[] }> {
  const library = config.profileFile ? await loadProfileFile(config.profileFile) : [];
  const names = config.profileNames.length
    ? config.profileNames
    : library.length
      ? library.map((p) => p.name)
      : [...DEFAULT_PROFILES];
  for (const n of names) resolveProfile(n, library); // fail fast on an unknown name
  return { library, names };
}

export function listProfiles(library: readonly Profile[]): string {
  return JSON.stringify({ profiles: [...library, ...BUILTIN_PROFILES.values()] }, null, 2);
}

export async function runSim(config: SimCliConfig, io: RunIo): Promise<RunningSim> {
  const { library, names } = await loadProfiles(config);
  const credentials = await resolveCredentials(config, names, io.logger);
  const fleet = await startFleet(
    {
      ...config.fleet,
      credentials: credentials.map((c) => ({ ...c, mqttUrl: c.mqttUrl ?? config.defaultBrokerUrl })),
      profiles: names,
      profileLibrary: library,
    },
    { logger: io.logger },
  );
  const progress: Progress | undefined = config.progress
    ? startProgress(fleet, io.progressStream ? { stream: io.progressStream } : {})
    : undefined;
  let timer: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolve) => {
    if (config.durationMs !== undefined) timer = setTimeout(resolve, config.durationMs);
  });
  return {
    fleet,
    finished,
    async stop() {
      clearTimeout(timer);
      await fleet.close();
      const stats = fleet.stats();
      return { summary: progress ? progress.stop() : formatSummary(stats, []), stats };
    },
  };
}
