-- Daemon-wide conditions that outlive a restart, such as "the API refused our credentials
-- until T" (key = 'auth_blocked').
CREATE TABLE daemon_state (
    key        TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    until_at   INTEGER,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
