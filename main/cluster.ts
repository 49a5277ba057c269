/**
 * `./platform.sh cluster` (`npm run cluster`): the demo cluster on one machine (platform/cluster.ts):
 * Redis, PostgreSQL, the managed influxd, 3 broker nodes, 2 ingest workers, 2 API replicas and a
 * simulated fleet. MQTT_PORT and HTTP_PORT are the first of consecutive ports. Ctrl-C stops all of it.
 */
import { ALL_SECTIONS } from '../core/config.js';
import { startCluster } from '../platform/cluster.js';
import { runMain } from './run.js';

await runMain(
  ALL_SECTIONS,
  async (config, logger) => {
    const cluster = await startCluster(config, logger);
    process.stdout.write(`${cluster.banner}\n`);
    return cluster;
    // Seven processes and three servers stop one after another.
  },
  { stopDeadlineMs: 60_000 },
);
