/**
 * Ids and secrets.
 *
 * API keys and device secrets are 256 random bits (base64url). They are stored only as SHA-256 hex
 * digests: a slow password hash (bcrypt, scrypt, argon2) protects low-entropy human passwords against
 * guessing, which a 256-bit random value does not need, and a device secret is checked at every MQTT
 * CONNECT, so a reconnect storm of thousands of devices must cost microseconds each, not 100 ms each.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// RFC 4648 base32 alphabet, lower case: ids stay case-insensitive-safe and URL-safe.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `prefix_` + 20 random base32 characters (100 bits): e.g. `dev_k3x...`. */
export function newId(prefix: 'prt' | 'plt' | 'dev' | (string & {})): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return `${prefix}_${out}`;
}

/** A 256-bit random secret, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A new API key: a recognisable prefix (`pk_` partner, `ak_` admin) and a 256-bit secret, so a key
 * is never mistaken for an id (`prt_...`). Keys are stored as hashes of the whole string, so keys
 * issued before the prefixes (bare base64url, `adm_...`) keep working.
 */
export function newApiKey(kind: 'partner' | 'admin'): string {
  return `${kind === 'partner' ? 'pk' : 'ak'}_${generateSecret()}`;
}

const ID_KINDS = { prt: 'partner_id', plt: 'pilot_id', dev: 'device_id' } as const;
export type IdKind = (typeof ID_KINDS)[keyof typeof ID_KINDS];

/** What an id-shaped value is (`prt_` + 20 base32 characters, see newId), or undefined. */
export function idKindOf(value: string): IdKind | undefined {
  const m = /^(prt|plt|dev)_[a-z2-7]{20}$/.exec(value);
  return m ? ID_KINDS[m[1] as keyof typeof ID_KINDS] : undefined;
}

/** SHA-256 hex digest of a secret: what the registry stores. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against a stored SHA-256 hex digest. */
export function secretMatches(secret: string, hash: string): boolean {
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  if (!/^[0-9a-f]{64}$/.test(hash)) return false;
  return timingSafeEqual(presented, Buffer.from(hash, 'hex'));
}

/**
 * The secret the platform's own services use to log in to the broker: the configured one, or the
 * one in `DATA_DIR/service-secret` (see loadOrCreateSecretFile).
 */
export function loadOrCreateServiceSecret(dataDir: string, configured?: string | undefined): string {
  if (configured) return configured;
  return loadOrCreateSecretFile(path.join(dataDir, 'service-secret'));
}

/**
 * The secret in `file`, created (mode 0600, its directory 0700) by whichever process gets there
 * first. Creation writes a temporary file and hard-links it into place, so two processes starting
 * together agree on one secret (the loser of the link race reads the winner's file).
 */
export function loadOrCreateSecretFile(file: string): string {
  const existing = readSecretFile(file);
  if (existing) return existing;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${generateSecret()}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file); // fails with EEXIST when another process won
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      // Filesystems without hard links: fall back to rename (atomic, last writer wins, still consistent
      // for a single starter).
      if (
        (err as NodeJS.ErrnoException).code === 'EPERM' ||
        (err as NodeJS.ErrnoException).code === 'ENOTSUP'
      ) {
        renameSync(tmp, file);
        return readSecretFile(file)!;
      }
      unlinkSync(tmp);
      throw err;
    }
  }
  unlinkSync(tmp);
  const secret = readSecretFile(file);
  if (!secret) throw new Error(`${file} is empty`);
  return secret;
}

function readSecretFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.length > 0 ? text : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
