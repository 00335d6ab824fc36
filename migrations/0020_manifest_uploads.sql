-- Issue 22: a versioned period's manifest ({stem}.manifest.json) goes to each destination too,
-- under its local name. It is rewritten with every outcome of the period (a new version, a
-- refresh that confirmed the file unchanged), so each rewrite is one upload of role
-- 'manifest': attached to the period's current version at the time, with the new bytes'
-- sha256, replacing the manifest an earlier upload of the same key put there (`If-Match`).
-- One period version can thus have several manifest uploads to one key: what is unique is
-- (period, version, destination, key, sha256), one put per content. A manifest's upload adds
-- no `deliveries` row (the ledger's deliveries are of the file's versions).
--
-- SQLite cannot change a CHECK or UNIQUE constraint in place: the table is rebuilt with the
-- same columns and rows, and its indexes made again.
CREATE TABLE uploads_0020 (
    id              INTEGER PRIMARY KEY,
    task_id         INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    request         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    destination     TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('current', 'kept', 'manifest')),
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
    UNIQUE (request, version, destination, object_key, sha256)
);
INSERT INTO uploads_0020 (id, task_id, request, version, destination, role, object_key,
    source_path, bytes, sha256, replaces_sha256, state, attempts, next_attempt_at,
    pending_since, last_error, etag, delivered_at)
SELECT id, task_id, request, version, destination, role, object_key, source_path, bytes,
    sha256, replaces_sha256, state, attempts, next_attempt_at, pending_since, last_error, etag,
    delivered_at
FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_0020 RENAME TO uploads;
CREATE INDEX uploads_pending ON uploads (next_attempt_at) WHERE state = 'pending';
CREATE INDEX uploads_task ON uploads (task_id);
