/**
 * `npm run influx-user -- [name]`: a read-only user of the managed influxd for Grafana or other
 * dashboards (default name `grafana`). Reads DATA_DIR and INFLUX_DATABASE like the platform; the
 * platform must be running (the managed influxd runs with it). Prints the user's new password once
 * and what to enter in Grafana's InfluxDB data source. Running it again replaces the password.
 */
import path from 'node:path';
import { ConfigError, loadConfig } from '../core/config.js';
import { runningManagedInfluxdUrl } from '../core/influx/managed.js';
import { createReadOnlyUser } from '../core/influx/managed-auth.js';
import { loadDotEnv } from './env-file.js';

function fail(message: string, code = 1): never {
  process.stderr.write(`influx-user: ${message}\n`);
  process.exit(code);
}

let config: ReturnType<typeof loadConfig<'common' | 'influx'>>;
loadDotEnv();
try {
  config = loadConfig(process.env, ['common', 'influx']);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message, 2);
  throw err;
}
if (config.influx.backend !== 'managed') {
  fail(
    "INFLUX_URL is set: this command manages the platform's own influxd only. Create a read-only user on " +
      'your server instead (README, "Grafana").',
    2,
  );
}
const name = process.argv[2] ?? 'grafana';
const influxDir = path.join(config.common.dataDir, 'influxdb');
const url = runningManagedInfluxdUrl(influxDir);
if (!url) fail(`no managed influxd runs on ${influxDir}: start the platform first (npm start)`);
try {
  const password = await createReadOnlyUser(url, influxDir, config.influx.database, name);
  process.stdout.write(
    [
      `Read-only user "${name}" on database "${config.influx.database}" (the password is shown only now):`,
      `  URL       ${url}`,
      `  Database  ${config.influx.database}`,
      `  User      ${name}`,
      `  Password  ${password}`,
      'Grafana: Connections > Data sources > InfluxDB, query language InfluxQL, with the values above',
      '(or docs/grafana/provisioning with PLATFORM_INFLUX_URL and PLATFORM_INFLUX_PASSWORD).',
      'This user reads every pilot: for one partner, use the API with its key (README, "Grafana").',
      '',
    ].join('\n'),
  );
} catch (err) {
  fail((err as Error).message);
}
