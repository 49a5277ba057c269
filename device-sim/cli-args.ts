/** The simulator's flags and their defaults from the platform's variables (core/config.ts). */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { parseDuration } from '../core/time.js';
import { brokerUrl, listenerUrl } from '../core/urls.js';
import { DEFAULT_PROFILES, type FleetOptions } from './fleet.js';
import type { LoadOptions } from './load.js';
import type { OutagePlan, OutageWindow } from './outages.js';

export const HELP = `Usage: npm run sim -- [options]

Simulated devices that publish readings over MQTT (QoS 1, persistent sessions), buffer them on
disk while offline and send the buffer on reconnect, oldest first, as batches.

Devices (credentials come from a file, or are created through the API):
  --credentials FILE       read device credentials from FILE. If FILE does not exist and an API
                           key and pilot are given, create devices and save them there (mode 0600)
  --api-url URL            platform API (env SIM_API_URL; default http://HTTP_HOST:HTTP_PORT)
  --api-key KEY            a partner API key (env SIM_API_KEY)
  --pilot ID               pilot to create devices in (env SIM_PILOT_ID)
  -n, --devices N          devices to create (env SIM_DEVICES; default 5)
  --name-prefix NAME       device names NAME-1, NAME-2, ... (default sim)

Connection:
  --broker URL[,URL...]    MQTT broker, overriding the credentials' mqttUrl; several (a
                           cluster's nodes): devices spread over them and fail over
                           (default: the credentials' mqttUrl, else mqtt://MQTT_HOST:MQTT_PORT)

Readings:
  --profile A,B            profiles assigned round-robin (default ${DEFAULT_PROFILES.join(',')})
  --profile-file FILE      profiles from a JSON (or .yaml) file: {"profiles": [{name, intervalMs,
                           jitterMs, keys: {key: {type: sine|walk|counter|onoff|constant, ...}},
                           commands: [setInterval, reboot], firmwareVersion}]}; devices answer
                           those commands and report {firmwareVersion, intervalMs} in their twin
  --list-profiles          print the known profiles as JSON and exit
  --interval DUR           reading interval for every device, overriding profiles
                           (env SIM_INTERVAL_MS)
  --jitter DUR             +/- random jitter on each interval
  --seed N                 seed for signals, jitter and random outages (default 1)

Offline:
  --buffer-dir DIR         offline buffers, one file per device (default DATA_DIR/sim-buffer)
  --outage AT+DUR          every device offline from AT after start, for DUR; repeatable
                           (e.g. --outage 30s+10s)
  --random-outages GAP:MIN-MAX
                           per device, outages every GAP on average lasting MIN to MAX
                           (e.g. 5m:10s-60s)
  --flush-batch N          readings per buffer batch message (default 500)

Load (benchmarks):
  --load rate|max          rate: --rate messages/s across the fleet; max: as fast as acknowledged
  --rate N                 messages per second (with --load rate)
  --window N               QoS 1 publishes in flight per device (default 16 max, 1000 rate)
  --batch N                readings per message (default 1)
  --duration DUR           stop after DUR (default: run until Ctrl-C)
  --progress, --no-progress
                           per-second figures on stderr (default: on in load mode)

  -h, --help               this text
Durations: 500 (ms), 500ms, 10s, 5m, 1h. Ctrl-C stops cleanly: unacknowledged readings stay in
the buffer dir and are sent on the next run.`;

export interface SimCliConfig {
  fleet: Omit<FleetOptions, 'credentials'>;
  credentialsFile: string | undefined;
  provision: {
    apiUrl: string;
    apiKey: string | undefined;
    pilotId: string | undefined;
    count: number;
    namePrefix: string;
  };
  profileFile: string | undefined;
  profileNames: string[];
  listProfiles: boolean;
  durationMs: number | undefined;
  progress: boolean;
  defaultCredentialsFile: string;
  /** For credentials without an mqttUrl. */
  defaultBrokerUrl: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `500`, `500ms`, `10s`, `5m`, `1h` -> milliseconds. */
export function parseDurationFlag(text: string, flag: string): number {
  const ms = parseDuration(text.trim(), { lenient: true });
  if (ms === undefined)
    throw new UsageError(`${flag}: expected a duration such as 500ms, 10s, 5m (got "${text}")`);
  return ms;
}

function parseInteger(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${flag}: expected an integer >= ${min} (got "${text}")`);
  return n;
}

export function parseSimArgs(argv: string[], env: Record<string, string | undefined>): SimCliConfig | 'help' {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const cfg = loadConfig(env, ['common', 'http', 'mqtt', 'sim']);
  const opt = (name: string, v: string | undefined, f: (s: string, flag: string) => number) =>
    v === undefined ? undefined : f(v, `--${name}`);

  const outages: OutagePlan = {};
  const windows: OutageWindow[] = (values.outage ?? []).map((o) => {
    const [at, dur] = o.split('+');
    if (at === undefined || dur === undefined)
      throw new UsageError(`--outage: expected AT+DUR such as 30s+10s (got "${o}")`);
    return { startMs: parseDurationFlag(at, '--outage'), durationMs: parseDurationFlag(dur, '--outage') };
  });
  if (windows.length) outages.schedule = windows;
  if (values['random-outages']) {
    const m = /^([^:]+):([^-]+)-(.+)$/.exec(values['random-outages']);
    if (!m) throw new UsageError('--random-outages: expected GAP:MIN-MAX such as 5m:10s-60s');
    outages.random = {
      meanGapMs: parseDurationFlag(m[1]!, '--random-outages'),
      minDurationMs: parseDurationFlag(m[2]!, '--random-outages'),
      maxDurationMs: parseDurationFlag(m[3]!, '--random-outages'),
    };
  }

  let load: LoadOptions | undefined;
  if (values.load !== undefined) {
    if (values.load !== 'rate' && values.load !== 'max') throw new UsageError('--load: expected rate or max');
    load = {
      mode: values.load,
      rate: opt('rate', values.rate, (s, f) => parseInteger(s, f, 1)),
      window: opt('window', values.window, (s, f) => parseInteger(s, f, 1)),
      batchSize: opt('batch', values.batch, (s, f) => parseInteger(s, f, 1)),
    };
    if (load.mode === 'rate' && load.rate === undefined) throw new UsageError('--load rate needs --rate N');
  }

  const interval =
    opt('interval', values.interval, parseDurationFlag) ??
    (env.SIM_INTERVAL_MS ? cfg.sim.intervalMs : undefined);
  const brokerDefault = brokerUrl(cfg.mqtt);
  return {
    fleet: {
      bufferDir: path.resolve(values['buffer-dir'] ?? path.join(cfg.common.dataDir, 'sim-buffer')),
      brokerUrl: values.broker,
      seed: opt('seed', values.seed, (s, f) => parseInteger(s, f, 0)) ?? 1,
      intervalMs: interval,
      jitterMs: opt('jitter', values.jitter, parseDurationFlag),
      outages: outages.schedule || outages.random ? outages : undefined,
      load,
      flushBatchSize: opt('flush-batch', values['flush-batch'], (s, f) => parseInteger(s, f, 1)),
    },
    defaultBrokerUrl: brokerDefault,
    credentialsFile: values.credentials ? path.resolve(values.credentials) : undefined,
    defaultCredentialsFile: path.join(cfg.common.dataDir, 'sim-credentials.json'),
    provision: {
      apiUrl: values['api-url'] ?? cfg.sim.apiUrl ?? listenerUrl('http', cfg.http.host, cfg.http.port),
      apiKey: values['api-key'] ?? cfg.sim.apiKey,
      pilotId: values.pilot ?? cfg.sim.pilotId,
      count: opt('devices', values.devices, (s, f) => parseInteger(s, f, 1)) ?? cfg.sim.devices,
      namePrefix: values['name-prefix'] ?? 'sim',
    },
    profileFile: values['profile-file'],
    profileNames: values.profile
      ? values.profile
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    listProfiles: values['list-profiles'] === true,
    durationMs: opt('duration', values.duration, parseDurationFlag),
    progress: values['no-progress'] ? false : (values.progress ?? load !== undefined),
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      credentials: { type: 'string' },
      'api-url': { type: 'string' },
      'api-key': { type: 'string' },
      pilot: { type: 'string' },
      devices: { type: 'string', short: 'n' },
      'name-prefix': { type: 'string' },
      broker: { type: 'string' },
      profile: { type: 'string' },
      'profile-file': { type: 'string' },
      'list-profiles': { type: 'boolean' },
      interval: { type: 'string' },
      jitter: { type: 'string' },
      seed: { type: 'string' },
      'buffer-dir': { type: 'string' },
      outage: { type: 'string', multiple: true },
      'random-outages': { type: 'string' },
      'flush-batch': { type: 'string' },
      load: { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
      batch: { type: 'string' },
      duration: { type: 'string' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
}
