/** Partners, their API key digests and the admin key digest, in PostgreSQL. */
import { newId } from '../../secrets.js';
import { ConflictError } from '../errors.js';
import type { Partner, PartnerKind, PartnerStore } from '../types.js';
import { isUniqueViolation, type Pool } from './db.js';

type PartnerRow = { id: string; name: string; country: string; kind: PartnerKind; created_at: number };

const COLUMNS = 'id, name, country, kind, created_at';

const toPartner = (r: PartnerRow): Partner => ({
  id: r.id,
  name: r.name,
  country: r.country,
  kind: r.kind,
  createdAt: r.created_at,
});

export function pgPartners(pool: Pool): PartnerStore {
  const one = async (sql: string, value: string) => {
    const { rows } = await pool.query<PartnerRow>(sql, [value]);
    return rows[0] ? toPartner(rows[0]) : undefined;
  };
  return {
    async createPartner(input, apiKeyHash) {
      const id = newId('prt');
      const now = Date.now();
      try {
        await pool.query(
          'INSERT INTO partners (id, name, country, kind, api_key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [id, input.name, input.country, input.kind, apiKeyHash, now],
        );
      } catch (err) {
        if (isUniqueViolation(err, 'partners_name')) {
          throw new ConflictError(`a partner named "${input.name}" already exists`);
        }
        throw err;
      }
      return { id, name: input.name, country: input.country, kind: input.kind, createdAt: now };
    },
    getPartner: (partnerId) => one(`SELECT ${COLUMNS} FROM partners WHERE id = $1`, partnerId),
    findPartnerByApiKeyHash: (hash) => one(`SELECT ${COLUMNS} FROM partners WHERE api_key_hash = $1`, hash),
    async getAdminKeyHash() {
      const { rows } = await pool.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'admin_key_hash'",
      );
      return rows[0]?.value;
    },
    async setAdminKeyHash(hash) {
      await pool.query(
        `INSERT INTO meta (key, value) VALUES ('admin_key_hash', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [hash],
      );
    },
  };
}
