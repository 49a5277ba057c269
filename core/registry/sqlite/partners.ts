/** Partners, their API key digests and the admin key digest, in SQLite. */
import { newId } from '../../secrets.js';
import { ConflictError } from '../errors.js';
import type { Partner, PartnerKind, PartnerStore } from '../types.js';
import type { Db } from './db.js';

type PartnerRow = { id: string; name: string; country: string; kind: PartnerKind; created_at: number };

const toPartner = (r: PartnerRow): Partner => ({
  id: r.id,
  name: r.name,
  country: r.country,
  kind: r.kind,
  createdAt: r.created_at,
});

export function sqlitePartners(db: Db): PartnerStore {
  const s = {
    insert: db.prepare(
      'INSERT INTO partners (id, name, country, kind, api_key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    byId: db.prepare<[string], PartnerRow>(
      'SELECT id, name, country, kind, created_at FROM partners WHERE id = ?',
    ),
    byKeyHash: db.prepare<[string], PartnerRow>(
      'SELECT id, name, country, kind, created_at FROM partners WHERE api_key_hash = ?',
    ),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
  return {
    async createPartner(input, apiKeyHash) {
      const id = newId('prt');
      const now = Date.now();
      try {
        s.insert.run(id, input.name, input.country, input.kind, apiKeyHash, now);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError(`a partner named "${input.name}" already exists`);
        }
        throw err;
      }
      return { id, name: input.name, country: input.country, kind: input.kind, createdAt: now };
    },
    async getPartner(partnerId) {
      const row = s.byId.get(partnerId);
      return row ? toPartner(row) : undefined;
    },
    async findPartnerByApiKeyHash(apiKeyHash) {
      const row = s.byKeyHash.get(apiKeyHash);
      return row ? toPartner(row) : undefined;
    },
    async getAdminKeyHash() {
      return s.getMeta.get('admin_key_hash')?.value;
    },
    async setAdminKeyHash(hash) {
      s.setMeta.run('admin_key_hash', hash);
    },
  };
}
