/**
 * A refused CONNECT in words a partner engineer can act on (MQTT 3.1.1 section 3.2.2.3 for the
 * codes). The device only sees a number; the log says which field to fix. Logged at info: refusals
 * repeat at most as fast as the connect throttle answers them (connect-throttle.ts).
 *
 * The user name is logged only when it is a device id or a service name: anything else may be a
 * secret pasted into the wrong field.
 */
import type { Client } from 'aedes';
import type { Logger } from '../core/log.js';
import { SERVICE_USERNAMES } from '../core/topics.js';
import { remoteAddress } from './aedes-internals.js';

export type RefusalCause =
  | 'empty_client_id_persistent'
  | 'anonymous_client_id'
  | 'no_credentials'
  | 'unknown_device'
  | 'wrong_secret'
  | 'not_a_device_id'
  | 'wrong_service_secret'
  | 'registry_unavailable';

const WORDS: Record<RefusalCause, [code: 2 | 3 | 4 | 5, text: string]> = {
  empty_client_id_persistent: [
    2,
    'an empty client id needs clean session on (MQTT-3.1.3-8): give the client an id, or connect with clean session',
  ],
  anonymous_client_id: [
    2,
    'anonymous clients (MQTT_ALLOW_ANONYMOUS) must send an empty client id or one starting with anon-',
  ],
  no_credentials: [
    5,
    'no user name or password: a device connects with user name = its device id (dev_...) and password = its secret',
  ],
  unknown_device: [
    4,
    'no such device (never registered, or deleted): check the user name is the device id from POST /v1/pilots/{pilotId}/devices',
  ],
  wrong_secret: [
    4,
    'wrong password for this device: use the secret from its registration or its last rotation (a rotation ends the old one)',
  ],
  not_a_device_id: [
    4,
    'the user name is not a device id (dev_ and 20 letters or digits): use the credentials.username the API gave the device',
  ],
  wrong_service_secret: [
    4,
    'a platform service (ingest or API) has another SERVICE_SECRET than the broker: give every component the same DATA_DIR or SERVICE_SECRET',
  ],
  registry_unavailable: [3, 'the registry could not be read: the device should retry later'],
};

const NAMES = ['identifier rejected', 'server unavailable', 'bad user name or password', 'not authorized'];

function shownUsername(username: string | undefined): string | undefined {
  if (username === undefined) return undefined;
  if (/^dev_[a-z2-7]{20}$/.test(username)) return username;
  if (username === SERVICE_USERNAMES.ingest || username === SERVICE_USERNAMES.api) return username;
  return undefined;
}

export function logConnackRefusal(
  logger: Logger,
  client: Client,
  cause: RefusalCause,
  username: string | undefined,
  clientId: string,
): void {
  const [code, text] = WORDS[cause];
  const address = remoteAddress(client);
  logger.info(
    { connack: code, cause, username: shownUsername(username), clientId, address },
    `CONNECT refused with CONNACK ${code} (${NAMES[code - 2]}): ${text}`,
  );
}
