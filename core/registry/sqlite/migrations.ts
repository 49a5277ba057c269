/**
 * The registry's schema, as numbered migrations. `PRAGMA user_version` holds how many have been
 * applied; opening the store applies the rest in one immediate transaction, so two processes opening
 * the same file at once do not both migrate (the second waits on the write lock, then sees the new
 * version). Append new migrations; never edit an applied one.
 *
 * Conventions (so a Postgres port is mechanical): times are epoch milliseconds (INTEGER), ids are the
 * prefixed text ids, `seq` is an ascending surrogate key used only for keyset pagination.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: partners, pilots, members, devices, credential change log, key types, device errors
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE partners (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    country      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('hardware', 'software', 'both')),
    api_key_hash TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX partners_name ON partners (lower(name));

  CREATE TABLE pilots (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL
  );

  CREATE TABLE pilot_members (
    seq        INTEGER PRIMARY KEY,
    pilot_id   TEXT NOT NULL REFERENCES pilots (id),
    partner_id TEXT NOT NULL REFERENCES partners (id),
    added_at   INTEGER NOT NULL,
    UNIQUE (pilot_id, partner_id)
  );
  CREATE INDEX pilot_members_partner ON pilot_members (partner_id, pilot_id);

  CREATE TABLE devices (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    pilot_id         TEXT NOT NULL REFERENCES pilots (id),
    name             TEXT NOT NULL,
    model            TEXT,
    firmware_version TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    secret_hash      TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    online           INTEGER NOT NULL DEFAULT 0,
    last_seen_at     INTEGER
  );
  CREATE INDEX devices_pilot ON devices (pilot_id, seq);

  -- Rotations and deletions, read by brokers in any process to drop sessions and cached secrets.
  CREATE TABLE credential_changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    at        INTEGER NOT NULL
  );

  CREATE TABLE key_types (
    pilot_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    type     TEXT NOT NULL CHECK (type IN ('number', 'boolean', 'string')),
    PRIMARY KEY (pilot_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE device_errors (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id      TEXT NOT NULL,
    at             INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    payload_prefix TEXT NOT NULL
  );
  CREATE INDEX device_errors_device ON device_errors (device_id, id);
  `,
  // 2: the distinct keys of each device (bounded by TELEMETRY_MAX_KEYS_PER_DEVICE), and from which
  // device on they are complete (older devices sent readings before keys were tracked).
  `
  CREATE TABLE device_keys (
    device_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value)
    SELECT 'device_keys_complete_after_seq', CAST(coalesce(max(seq), 0) AS TEXT) FROM devices;
  `,
];
