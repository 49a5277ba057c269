/**
 * MQTT across broker nodes (REDIS_URL): aedes-persistence-redis keeps sessions, queued QoS 1/2
 * packets, retained messages and wills in Redis, and mqemitter-redis carries every publish to every
 * node, so a device may reconnect to any node and resume its session. Imported only in cluster mode.
 */
import { redisOptionsFromUrl, WAIT_FOR_REDIS } from '../core/cluster/redis-options.js';
import type { Logger } from '../core/log.js';
import type { BrokerPersistence } from './persistence.js';

export interface ClusterMqtt extends BrokerPersistence {
  /** aedes' `mq` option. */
  mq: unknown;
}

export async function openRedisMqtt(url: string, logger: Logger): Promise<ClusterMqtt> {
  const [{ default: aedesPersistenceRedis }, { default: mqemitterRedis }] = await Promise.all([
    import('aedes-persistence-redis'),
    import('mqemitter-redis'),
  ]);
  const options = { ...redisOptionsFromUrl(url), ...WAIT_FOR_REDIS };
  const mq = mqemitterRedis(options);
  // ioredis reconnects by itself; without a listener an 'error' would be thrown.
  (mq as unknown as { state: import('node:events').EventEmitter }).state.on('error', (err: Error) =>
    logger.warn({ err: err.message }, 'redis (MQTT routing) unavailable'),
  );
  const persistence = aedesPersistenceRedis(options) as {
    destroy(cb: () => void): void;
  };
  const location = `redis ${options.host}:${options.port}`;
  return {
    mq,
    persistence,
    location,
    async close() {
      // aedes closed the emitter; the persistence's own connection goes here (at most 2 s if Redis is away).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        persistence.destroy(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
