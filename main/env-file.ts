/**
 * `.env` support: an entrypoint loads `.env` from the working directory when it exists, with Node's
 * own `process.loadEnvFile` (Node.js 20.12+). Variables already in the environment win, also empty
 * ones: loadEnvFile never overrides them (test/env-file.test.ts). `.env.example` lists every variable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Loads `dir/.env` into process.env when it exists; returns its path, or undefined. */
export function loadDotEnv(dir = process.cwd()): string | undefined {
  const file = path.join(dir, '.env');
  if (!existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return file;
}
