/**
 * Presence per broker node in the PostgreSQL registry: a device is online while any node reports a
 * connection; a node starting clears only its own connections; a node that stops renewing its expiry
 * has its connections cleared by the next renewal of another node, and learns it at its own next one.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { hashSecret } from '../core/secrets.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.dispose());

async function seeded() {
  const store = await openPostgresRegistry({ url: await postgres.freshDatabase('presence'), max: 2 });
  onTestFinished(() => store.close());
  const partner = await store.createPartner({ name: 'p', country: 'DE', kind: 'both' }, hashSecret('k'));
  const pilot = await store.createPilot({ name: 'p', memberIds: [partner.id] });
  const a = await store.createDevice(pilot.id, { name: 'a' }, 'h');
  const b = await store.createDevice(pilot.id, { name: 'b' }, 'h');
  const online = async (id: string) => (await store.getDeviceForPartner(id, partner.id))?.status.online;
  return { store, a: a.id, b: b.id, online };
}

const up = (deviceId: string, at = 1000) => ({ deviceId, online: true, lastSeenAt: at });
const down = (deviceId: string, at = 2000) => ({ deviceId, online: false, lastSeenAt: at });

describe('postgres registry: presence per broker node', () => {
  it('a device is online while any node holds a connection; a late offline from the old node does not win', async () => {
    const { store, a, online } = await seeded();
    await store.nodeHeartbeat('n1', 60_000);
    await store.nodeHeartbeat('n2', 60_000);
    await store.recordPresence([up(a)], 'n1');
    await store.recordPresence([up(a, 1500)], 'n2'); // reconnected to n2 (takeover)
    await store.recordPresence([down(a)], 'n1'); // n1's flush of the old connection arrives last
    expect(await online(a)).toBe(true);
    await store.recordPresence([down(a, 3000)], 'n2');
    expect(await online(a)).toBe(false);
  });

  it('a node starting clears only its own connections', async () => {
    const { store, a, b, online } = await seeded(); // seeded: a on n1, b on n2
    await store.recordPresence([up(a)], 'n1');
    await store.recordPresence([up(b)], 'n2');
    await store.markAllOffline('n1');
    expect([await online(a), await online(b)]).toEqual([false, true]);
  });

  it("a dead node's connections are cleared by another node's renewal; the dead node learns it", async () => {
    const { store, a, b, online } = await seeded();
    expect(await store.nodeHeartbeat('n1', 200)).toBe(false); // new
    expect(await store.nodeHeartbeat('n2', 60_000)).toBe(false);
    await store.recordPresence([up(a)], 'n1');
    await store.recordPresence([up(b)], 'n2');
    expect(await store.nodeHeartbeat('n2', 60_000)).toBe(true);
    expect(await online(a)).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // n1 silent past its expiry
    await store.nodeHeartbeat('n2', 60_000);
    expect([await online(a), await online(b)]).toEqual([false, true]);
    // n1 was only frozen: its renewal says so, and it reports its connections again.
    expect(await store.nodeHeartbeat('n1', 60_000)).toBe(false);
    await store.recordPresence([up(a, 5000)], 'n1');
    expect(await online(a)).toBe(true);
  });
});
