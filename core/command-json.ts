/**
 * Commands and twins as the outside sees them: the API's responses, the SSE events, the change
 * messages between broker and API, and what devices receive. One place, so all of them agree.
 */

import { commandResponseTopic } from './command-topics.js';
import type { CommandRecord, TwinMeta, TwinRecord } from './registry/command-types.js';
import { twinDelta } from './twin.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function commandJson(c: CommandRecord) {
  const finished = (status: CommandRecord['status']) =>
    c.status === status ? isoOrNull(c.finishedAt) : null;
  return {
    commandId: c.id,
    deviceId: c.deviceId,
    name: c.name,
    params: c.params,
    ttlMs: c.ttlMs,
    status: c.status,
    result: c.result,
    sentBy: c.sentBy,
    expiresAt: iso(c.expiresAt),
    queuedAt: iso(c.queuedAt),
    deliveredAt: isoOrNull(c.deliveredAt),
    succeededAt: finished('succeeded'),
    failedAt: finished('failed'),
    expiredAt: finished('expired'),
    cancelledAt: finished('cancelled'),
  };
}
export type CommandJson = ReturnType<typeof commandJson>;

/** What the device receives on `devices/{id}/commands`. */
export function commandMessage(c: CommandRecord): string {
  return JSON.stringify({
    commandId: c.id,
    name: c.name,
    params: c.params,
    expiresAt: iso(c.expiresAt),
    responseTopic: commandResponseTopic(c.deviceId, c.id),
  });
}

function metaJson(meta: TwinMeta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) out[k] = typeof v === 'number' ? iso(v) : metaJson(v);
  return out;
}

export function twinJson(t: TwinRecord) {
  return {
    deviceId: t.deviceId,
    desired: t.desired,
    reported: t.reported,
    delta: twinDelta(t.desired, t.reported),
    version: t.version,
    reportedVersion: t.reportedVersion,
    /** When each leaf was last set, shaped like the documents. */
    metadata: { desired: metaJson(t.desiredMeta), reported: metaJson(t.reportedMeta) },
    updatedAt: t.updatedAt === 0 ? null : iso(t.updatedAt),
  };
}
export type TwinJson = ReturnType<typeof twinJson>;

export type DeviceChange = { type: 'command'; command: CommandJson } | { type: 'twin'; twin: TwinJson };
