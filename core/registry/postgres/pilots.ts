/** Pilots and their member partners, in PostgreSQL. */
import { newId } from '../../secrets.js';
import { decodeCursor } from '../errors.js';
import { page } from '../sqlite/db.js';
import type { Pilot, PilotStore } from '../types.js';
import { type Pool, tx } from './db.js';

type PilotRow = {
  seq: number;
  id: string;
  name: string;
  description: string | null;
  created_at: number;
  member_ids: string[];
};

// Members in the order they joined, with the pilot in one query.
const PILOT_COLUMNS = `p.seq, p.id, p.name, p.description, p.created_at,
  array(SELECT m2.partner_id FROM pilot_members m2 WHERE m2.pilot_id = p.id ORDER BY m2.seq) AS member_ids`;

const toPilot = (r: PilotRow): Pilot => ({
  id: r.id,
  name: r.name,
  description: r.description,
  memberIds: r.member_ids,
  createdAt: r.created_at,
});

export function pgPilots(pool: Pool): PilotStore {
  const insertMember =
    'INSERT INTO pilot_members (pilot_id, partner_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING';
  return {
    async createPilot(input) {
      const id = newId('plt');
      const now = Date.now();
      await tx(pool, async (client) => {
        await client.query('INSERT INTO pilots (id, name, description, created_at) VALUES ($1, $2, $3, $4)', [
          id,
          input.name,
          input.description ?? null,
          now,
        ]);
        for (const memberId of input.memberIds) await client.query(insertMember, [id, memberId, now]);
      });
      const { rows } = await pool.query<PilotRow>(`SELECT ${PILOT_COLUMNS} FROM pilots p WHERE p.id = $1`, [
        id,
      ]);
      return toPilot(rows[0]!);
    },
    async getPilotForPartner(pilotId, partnerId) {
      const { rows } = await pool.query<PilotRow>(
        `SELECT ${PILOT_COLUMNS} FROM pilots p
         JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = $1 WHERE p.id = $2`,
        [partnerId, pilotId],
      );
      return rows[0] ? toPilot(rows[0]) : undefined;
    },
    async listPilotsForPartner(partnerId, req) {
      const after = decodeCursor('pilots', req.cursor) ?? 0;
      const { rows } = await pool.query<PilotRow>(
        `SELECT ${PILOT_COLUMNS} FROM pilots p
         JOIN pilot_members m ON m.pilot_id = p.id AND m.partner_id = $1
         WHERE p.seq > $2 ORDER BY p.seq LIMIT $3`,
        [partnerId, after, req.limit + 1],
      );
      return page('pilots', rows, req.limit, toPilot);
    },
    async addPilotMember(pilotId, partnerId) {
      return ((await pool.query(insertMember, [pilotId, partnerId, Date.now()])).rowCount ?? 0) > 0;
    },
  };
}
