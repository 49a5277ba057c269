/**
 * What `npm run broker`, `ingest` and `api` share: runMain (main/run.ts: the stderr logger, graceful
 * ends, taken-port messages), the private DATA_DIR, a close stack, the registry and the service
 * secret; each adds its component.
 */
import { type CloseStack, startWithCloseStack } from '../core/close-stack.js';
import type { PlatformConfig, SectionName } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';
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

export function runComponent<S extends SectionName>(
  sections: readonly S[],
  start: (config: Pick<PlatformConfig, S | 'common' | 'registry'>, shared: Shared) => Promise<void>,
): Promise<void> {
  return runMain(
    [...sections, 'common', 'registry'] as (S | 'common' | 'registry')[],
    async (config, logger) => {
      const dataDir = config.common.dataDir;
      preparePrivateDataDir(dataDir);
      return startWithCloseStack(logger, async (stack) => {
        const registry = openDataDirRegistry(dataDir, config.registry.deviceErrorsKept);
        stack.push('registry', registry, (r) => r.close());
        const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
        await start(config, { logger, dataDir, registry, serviceSecret, stack });
        return {};
      });
    },
  );
}
