/** broker/aedes-internals.ts was checked against one aedes version: a new one must be re-checked. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { AEDES_CHECKED_VERSION } from '../broker/aedes-internals.js';

/** The version of the aedes this process loads (its package.json does not export itself). */
function installedAedesVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('aedes')));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

it('the installed aedes is the version broker/aedes-internals.ts was checked against', () => {
  expect(installedAedesVersion(), 're-read the aedes functions named in broker/aedes-internals.ts').toBe(
    AEDES_CHECKED_VERSION,
  );
});
