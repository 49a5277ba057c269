/** aedes' authorizeSubscribe: the ACL (acl.ts) and the topic depth limit; a refused filter gets 0x80. */
import type { AuthorizeSubscribeHandler, Client } from 'aedes';
import type { Logger } from '../core/log.js';
import { type Identity, maySubscribe, topicLevels } from './acl.js';
import { neutraliseRefusedFilter } from './aedes-internals.js';
import type { BrokerMetrics } from './metrics.js';

/** A refused filter is stored under this (see neutraliseRefusedFilter); nothing is published there. */
const REFUSED_FILTER = '$platform/refused';

export function createAuthorizeSubscribe(deps: {
  identityOf: (client: Client | null) => Identity | undefined;
  maxTopicLevels: number;
  metrics: Pick<BrokerMetrics, 'subscriptionsRefused'>;
  logger: Logger;
}): AuthorizeSubscribeHandler {
  return (client, sub, callback) => {
    const identity = deps.identityOf(client);
    const tooDeep = identity?.kind !== 'service' && topicLevels(sub.topic) > deps.maxTopicLevels;
    const granted = identity !== undefined && !tooDeep && maySubscribe(identity, sub.topic);
    if (!granted) {
      deps.metrics.subscriptionsRefused.inc();
      deps.logger.debug({ clientId: client.id, filter: sub.topic }, 'subscription refused');
      neutraliseRefusedFilter(sub, REFUSED_FILTER);
    }
    // aedes judges one packet's filters in a synchronous loop: answering on the next tick lets every
    // refused filter be rewritten before any of them is stored. null: SUBACK 0x80 [MQTT-3.9.3].
    process.nextTick(() => callback(null, granted ? sub : null));
  };
}
