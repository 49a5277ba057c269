/**
 * `npm run gen:client`: writes the typed API client's schema (core/api-client/schema.ts) from the
 * app's OpenAPI document, built in-process (no server). `-- --check` only compares, exit 1 when stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CLIENT_SCHEMA_FILE, generateClientSchema } from '../api/openapi-document.js';

const fresh = await generateClientSchema();
let current = '';
try {
  current = readFileSync(CLIENT_SCHEMA_FILE, 'utf8');
} catch {}
if (process.argv.includes('--check')) {
  if (current !== fresh) {
    process.stderr.write(`${CLIENT_SCHEMA_FILE} is stale: run npm run gen:client and commit it\n`);
    process.exit(1);
  }
  process.stdout.write(`${CLIENT_SCHEMA_FILE} is up to date\n`);
} else {
  writeFileSync(CLIENT_SCHEMA_FILE, fresh);
  process.stdout.write(`${current === fresh ? 'unchanged' : 'wrote'} ${CLIENT_SCHEMA_FILE}\n`);
}
