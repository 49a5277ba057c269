/**
 * A broker node of a cluster (REDIS_URL): its name for presence (BROKER_NODE_ID, stable across
 * restarts) and aedes' id (the name plus a random suffix, new every start: aedes-persistence-redis
 * keys queued packets by broker id and a per-run counter, so a reused id could overwrite packets
 * queued before a restart). The node renews its expiry every third of BROKER_NODE_TTL_MS; a node
 * that stops (killed, frozen) loses its presence rows at the next renewal of any other node.
 */
import { randomBytes } from 'node:crypto';
import type { CloseStack } from '../core/close-stack.js';
import { brokerNodeId } from '../core/cluster/stores.js';
import type { Logger } from '../core/log.js';
import type { PresenceStore } from '../core/registry/types.js';
import type { BrokerStartConfig } from './index.js';
import type { PresenceTracker } from './presence.js';

export interface ClusterNode {
  id: string;
  aedesId: string;
  ttlMs: number;
}

export function clusterNode(config: BrokerStartConfig): ClusterNode | undefined {
  const cluster = config.cluster;
  if (!cluster?.redisUrl) return undefined;
  const id = brokerNodeId(cluster, config.mqtt.port);
  return { id, aedesId: `${id}.${randomBytes(4).toString('hex')}`, ttlMs: cluster.nodeTtlMs };
}

export async function startNodeHeartbeat(
  parts: {
    deps: { registry: Pick<PresenceStore, 'nodeHeartbeat'> };
    presence: PresenceTracker;
    logger: Logger;
    now: () => number;
  },
  node: ClusterNode,
  stack: CloseStack,
): Promise<void> {
  const beat = async () => {
    try {
      // False: this node had expired (e.g. frozen) and another node cleared its connections.
      if (!(await parts.deps.registry.nodeHeartbeat(node.id, node.ttlMs)))
        parts.presence.reportAll(parts.now());
    } catch (err) {
      parts.logger.warn({ err, node: node.id }, 'could not renew the broker node; will retry');
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), Math.max(250, Math.floor(node.ttlMs / 3)));
  timer.unref();
  stack.push('node heartbeat', timer, clearInterval);
}
