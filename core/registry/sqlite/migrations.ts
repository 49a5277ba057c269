/**
 * The registry's schema as numbered migrations (`PRAGMA user_version` counts the applied ones), run
 * in one immediate transaction. Append; never edit an applied one. Times are epoch ms, ids the
 * prefixed text ids, `seq` a surrogate key for keyset pagination.
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
  // 3: commands to devices (with the partner who sent each) and device twins (issue 15)
  `
  CREATE TABLE commands (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    device_id    TEXT NOT NULL,
    pilot_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    params       TEXT NOT NULL,
    ttl_ms       INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled')),
    sent_by      TEXT NOT NULL,
    queued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    finished_at  INTEGER,
    result       TEXT
  );
  CREATE INDEX commands_device ON commands (device_id, seq);
  CREATE INDEX commands_open ON commands (expires_at) WHERE status IN ('queued', 'delivered');

  CREATE TABLE twins (
    device_id        TEXT PRIMARY KEY,
    desired          TEXT NOT NULL,
    reported         TEXT NOT NULL,
    desired_meta     TEXT NOT NULL,
    reported_meta    TEXT NOT NULL,
    version          INTEGER NOT NULL,
    reported_version INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];
