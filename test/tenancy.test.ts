/**
 * Tenancy (test/helpers/tenancy-suite.ts) on both registry stores: a partner never sees, changes or
 * learns of another partner's pilots and devices, with SQLite as with PostgreSQL underneath.
 */
import { afterAll, beforeAll } from 'vitest';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { startTestApi } from './helpers/api-app.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';
import { describeTenancy } from './helpers/tenancy-suite.js';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(() => postgres?.dispose());

describeTenancy('sqlite', () => startTestApi());
describeTenancy('postgres', async () =>
  startTestApi({ registry: await openPostgresRegistry({ url: await postgres.freshDatabase('tenancy') }) }),
);
