/** aedes-persistence-redis 12 ships no types; this is the part cluster mode uses. */
declare module 'aedes-persistence-redis' {
  import type { RedisOptions } from 'ioredis';

  /** Returns an aedes persistence in Redis; ioredis options, or `conn` for a connection of your own. */
  export default function aedesPersistenceRedis(
    options?: RedisOptions & { conn?: unknown; maxSessionDelivery?: number; packetTTL?: () => number },
  ): unknown;
}
