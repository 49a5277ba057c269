/**
 * `npm start`: the whole platform in one process, with the simulated demo fleet (the quick start),
 * and unless the environment says otherwise mqtts, ws and wss with a self-signed certificate.
 */
import { ALL_SECTIONS } from '../core/config.js';
import { QUICK_START_LISTENERS } from '../core/config-listeners.js';
import { startPlatform } from '../platform/start.js';
import { startBanner } from './banner.js';
import { runMain } from './run.js';

await runMain(
  ALL_SECTIONS,
  async (config, logger) => {
    const platform = await startPlatform(config, { logger });
    process.stdout.write(
      `${startBanner({
        platform,
        consoleEnabled: config.http.consoleEnabled,
        dataDir: config.common.dataDir,
        adminKeyFromEnv: config.http.adminApiKey !== undefined,
      })}\n`,
    );
    return platform;
  },
  { defaults: QUICK_START_LISTENERS },
);
