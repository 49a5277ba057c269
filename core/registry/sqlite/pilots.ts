/** Pilots and their member partners, in SQLite. */
import { newId } from '../../secrets.js';
import { decodeCursor } from '../errors.js';
import type { Pilot, PilotStore } from '../types.js';
import { type Db, page } from './db.js';

type PilotRow = { seq: number; id: string; name: string; description: string | null; created_at: number };
type NewPilot = Parameters<PilotStore['createPilot']>[0];

const PILOT_COLUMNS = 'p.seq, p.id, p.name, p.description, p.created_at';

export function sqlitePilots(db: Db): PilotStore {
  const s = {
    insert: db.prepare('INSERT INTO pilots (id, name, description, created_at) VALUES (?, ?, ?, ?)'),
    insertMember: db.prepare(
      'INSERT OR IGNORE INTO pilot_members (pilot_id, partner_id, added_at) VALUES (?, ?, ?)',
    ),
    membersOf: db.prepare<[string], { partner_id: string }>(
      'SELECT partner_id FROM pilot_members WHERE pilot_id = ? ORDER BY seq',
    ),
    byId: db.prepare<[string], PilotRow>(`SELECT ${PILOT_COLUMNS} FROM pilots p WHERE id = ?`),
    forPartner: db.prepare<[string, string], PilotRow>(
      `SELECT ${PILOT_COLUMNS} FROM pilots p
       JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = ? WHERE p.id = ?`,
    ),
    ofPartner: db.prepare<[string, number, number], PilotRow>(
      `SELECT ${PILOT_COLUMNS} FROM pilots p
       JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = ?
       WHERE p.seq > ? ORDER BY p.seq LIMIT ?`,
    ),
  };
  const toPilot = (r: PilotRow): Pilot => ({
    id: r.id,
    name: r.name,
    description: r.description,
    memberIds: s.membersOf.all(r.id).map((m) => m.partner_id),
    createdAt: r.created_at,
  });
  const createTx = db.transaction((input: NewPilot): string => {
    const id = newId('plt');
    const now = Date.now();
    s.insert.run(id, input.name, input.description ?? null, now);
    for (const memberId of input.memberIds) s.insertMember.run(id, memberId, now);
    return id;
  });

  return {
    async createPilot(input) {
      return toPilot(s.byId.get(createTx.immediate(input))!);
    },
    async getPilotForPartner(pilotId, partnerId) {
      const row = s.forPartner.get(partnerId, pilotId);
      return row ? toPilot(row) : undefined;
    },
    async listPilotsForPartner(partnerId, req) {
      const after = decodeCursor('pilots', req.cursor) ?? 0;
      return page('pilots', s.ofPartner.all(partnerId, after, req.limit + 1), req.limit, toPilot);
    },
    async addPilotMember(pilotId, partnerId) {
      return s.insertMember.run(pilotId, partnerId, Date.now()).changes > 0;
    },
  };
}
