/**
 * The registry's PostgreSQL schema, as numbered migrations applied once: every opener takes a
 * session advisory lock, applies what `schema_migrations` lacks (each migration in its own
 * transaction), and lets go, so processes starting together migrate once. Append; never edit one.
 * Same shape as the SQLite schema (core/registry/sqlite/migrations.ts): epoch ms, prefixed ids, `seq`
 * for keyset pages.
 */
import { checkOut, LOCK, type Pool } from './db.js';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: partners, pilots, members, devices, the credential change log, key types, device keys, errors
  `
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

  CREATE TABLE partners (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    name         text NOT NULL,
    country      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('hardware', 'software', 'both')),
    api_key_hash text NOT NULL UNIQUE,
    created_at   bigint NOT NULL
  );
  CREATE UNIQUE INDEX partners_name ON partners (lower(name));

  CREATE TABLE pilots (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text,
    created_at  bigint NOT NULL
  );

  CREATE TABLE pilot_members (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pilot_id   text NOT NULL REFERENCES pilots (id),
    partner_id text NOT NULL REFERENCES partners (id),
    added_at   bigint NOT NULL,
    UNIQUE (pilot_id, partner_id)
  );
  CREATE INDEX pilot_members_partner ON pilot_members (partner_id, pilot_id);

  CREATE TABLE devices (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               text NOT NULL UNIQUE,
    pilot_id         text NOT NULL REFERENCES pilots (id),
    name             text NOT NULL,
    model            text,
    firmware_version text,
    metadata         text NOT NULL DEFAULT '{}',
    secret_hash      text,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    deleted_at       bigint,
    online           boolean NOT NULL DEFAULT false,
    last_seen_at     bigint
  );
  CREATE INDEX devices_pilot ON devices (pilot_id, seq);
  CREATE INDEX devices_online ON devices (id) WHERE online;

  -- Rotations and deletions, polled by every broker node. Writers take an advisory lock, so rows
  -- commit in seq order and a poller never skips one that commits late.
  CREATE TABLE credential_changes (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL,
    at        bigint NOT NULL
  );

  CREATE TABLE key_types (
    pilot_id text NOT NULL,
    key      text NOT NULL,
    type     text NOT NULL CHECK (type IN ('number', 'boolean', 'string')),
    PRIMARY KEY (pilot_id, key)
  );

  CREATE TABLE device_keys (
    device_id text NOT NULL,
    key       text NOT NULL,
    PRIMARY KEY (device_id, key)
  );

  CREATE TABLE device_errors (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id      text NOT NULL,
    at             bigint NOT NULL,
    reason         text NOT NULL,
    payload_prefix text NOT NULL
  );
  CREATE INDEX device_errors_device ON device_errors (device_id, id);
  `,
  // 2: commands to devices (with the partner who sent each) and device twins (issue 15)
  `
  CREATE TABLE commands (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    device_id    text NOT NULL,
    pilot_id     text NOT NULL,
    name         text NOT NULL,
    params       text NOT NULL,
    ttl_ms       bigint NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled')),
    sent_by      text NOT NULL,
    queued_at    bigint NOT NULL,
    expires_at   bigint NOT NULL,
    delivered_at bigint,
    finished_at  bigint,
    result       text
  );
  CREATE INDEX commands_device ON commands (device_id, seq);
  CREATE INDEX commands_open ON commands (expires_at) WHERE status IN ('queued', 'delivered');

  CREATE TABLE twins (
    device_id        text PRIMARY KEY,
    desired          text NOT NULL,
    reported         text NOT NULL,
    desired_meta     text NOT NULL,
    reported_meta    text NOT NULL,
    version          bigint NOT NULL,
    reported_version bigint NOT NULL,
    updated_at       bigint NOT NULL
  );
  `,
  // 3: presence per broker node: a node's connections, and when the node counts as dead
  `
  CREATE TABLE broker_nodes (node_id text PRIMARY KEY, expires_at bigint NOT NULL);
  CREATE TABLE device_connections (
    device_id text NOT NULL,
    node_id   text NOT NULL,
    PRIMARY KEY (device_id, node_id)
  );
  CREATE INDEX device_connections_node ON device_connections (node_id);
  `,
  // 4: a device error's reason and payload prefix as UTF-8 bytes: they quote what a device sent, and
  // text cannot hold U+0000 (a NUL in a payload failed the whole batch of errors)
  `
  ALTER TABLE device_errors
    ALTER COLUMN reason TYPE bytea USING convert_to(reason, 'UTF8'),
    ALTER COLUMN payload_prefix TYPE bytea USING convert_to(payload_prefix, 'UTF8');
  `,
];

/** Applies pending migrations under a session advisory lock; refuses a schema newer than this code. */
export async function migrate(pool: Pool): Promise<void> {
  const client = await checkOut(pool);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK.migrations]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const applied = rows[0]?.v ?? 0;
    if (applied > PG_MIGRATIONS.length) {
      throw new Error(
        `registry schema version ${applied} is newer than this code knows (${PG_MIGRATIONS.length}); upgrade the platform`,
      );
    }
    for (let v = applied; v < PG_MIGRATIONS.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(PG_MIGRATIONS[v]!);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          v + 1,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK.migrations]).catch(() => {});
    client.release();
  }
}
