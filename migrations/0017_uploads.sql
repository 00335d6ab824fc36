-- Issue 22: object-storage destinations. One row per (period, version, destination, object
-- key): the durable intent to put one file version at one key of one bucket, written in the
-- transaction that records the version (and its 'output_dir' delivery), then worked by the
-- engine's uploader with its own retries. When the object is there (put, or found by a HEAD
-- with the same sha256 after a crash), the row becomes 'delivered' and the ledger's
-- `deliveries` gets its row for the destination, under the same (request, version,
-- destination) key.
--
-- `role`: 'current' is the period's file under its own name (a restated version replaces the
-- previous version's object there, on condition that it still holds it: `replaces_sha256`);
-- 'kept' is the version a restatement moved aside, under its versioned name, written once.
-- `state`: 'pending' (to put; `next_attempt_at`), 'delivered', 'failed' (the key holds other
-- bytes: an operator's `retry` makes it pending again), 'superseded' (a newer version of the
-- period's file took the current key before this one reached it).
-- Written for SQLite and PostgreSQL alike (no AUTOINCREMENT, no SQLite-only functions).
CREATE TABLE uploads (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    request         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    destination     TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('current', 'kept')),
    object_key      TEXT    NOT NULL,
    source_path     TEXT    NOT NULL,
    bytes           INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    replaces_sha256 TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'failed', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    pending_since   INTEGER NOT NULL,
    last_error      TEXT,
    etag            TEXT,
    delivered_at    INTEGER,
    UNIQUE (request, version, destination, object_key)
);
CREATE INDEX uploads_pending ON uploads (next_attempt_at) WHERE state = 'pending';
CREATE INDEX uploads_task ON uploads (task_id);
