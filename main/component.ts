/**
 * What `npm run broker`, `ingest` and `api` share: runMain (main/run.ts: the stderr logger, graceful
 * ends, taken-port messages), the private DATA_DIR, a close stack, the registry (SQLite in DATA_DIR,
 * or PostgreSQL with DATABASE_URL) and the service secret; each adds its component.
 */

import { type CloseStack, startWithCloseStack } from '../core/close-stack.js';
import { openRegistry } from '../core/cluster/stores.js';
import type { PlatformConfig, SectionName } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import type { RegistryStore } from '../core/registry/types.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { runMain } from './run.js';

export interface Shared {
  logger: Logger;
  dataDir: string;
  registry: RegistryStore;
  serviceSecret: string;
  stack: CloseStack;
}

type Always = 'common' | 'registry' | 'cluster';

export function runComponent<S extends SectionName>(
  sections: readonly S[],
  start: (config: Pick<PlatformConfig, S | Always>, shared: Shared) => Promise<void>,
  name: 'broker' | 'ingest' | 'api' = 'api',
): Promise<void> {
  return runMain([...sections, 'common', 'registry', 'cluster'] as (S | Always)[], async (config, logger) => {
    const dataDir = config.common.dataDir;
    preparePrivateDataDir(dataDir);
    return startWithCloseStack(logger, async (stack) => {
      const registry = await openRegistry(config, `pilot-${name}`);
      stack.push('registry', registry, (r) => r.close());
      const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
      await start(config, { logger, dataDir, registry, serviceSecret, stack });
      return {};
    });
  });
}
