/**
 * MQTT across broker nodes (REDIS_URL): aedes-persistence-redis keeps sessions, queued QoS 1/2
 * packets, retained messages and wills in Redis, and mqemitter-redis carries every publish to every
 * node, so a device may reconnect to any node and resume its session. Imported only in cluster mode.
 */
import type { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
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
  // ioredis reconnects by itself; without listeners its errors would be printed as unhandled.
  let lastWarning = 0;
  const warn = (err: Error) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn({ err: err.message }, 'redis unavailable: PUBACKs and deliveries wait for it');
  };
  const mq = mqemitterRedis(options);
  (mq as unknown as { state: EventEmitter }).state.on('error', warn);
  const conn = new Redis(options);
  conn.on('error', warn);
  const persistence = aedesPersistenceRedis({ ...options, conn }) as { destroy(cb: () => void): void };
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
