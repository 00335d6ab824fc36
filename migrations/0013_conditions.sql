-- Issue 19: daemon-wide conditions as typed rows, changed compare-and-set.
-- kind: what holds the daemon back: 'api_paused' (a server's Retry-After), 'auth_blocked' (the
--   API refused the key), 'wrong_account' (the key is another account's).
-- reason: what the API said, for `status` and the logs (never the key).
-- until_at: when the condition stops holding the API calls back (Unix ms); NULL: until cleared.
-- key_fingerprint: for 'auth_blocked', the fingerprint of the refused key (4 bytes of its
--   SHA-256, never the key): a replaced key is tried at once.
-- since: when the condition began; a renewal keeps it (status: "waiting since ...").
-- version: bumped by every change; a clear or a rewrite applies only to the version it read,
--   so a condition recorded meanwhile is never lost.
CREATE TABLE conditions (
    kind            TEXT    PRIMARY KEY
                            CHECK (kind IN ('api_paused', 'auth_blocked', 'wrong_account')),
    reason          TEXT    NOT NULL,
    until_at        INTEGER,
    key_fingerprint TEXT,
    since           INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;

-- The rows of daemon_state carry over; a refusal's fingerprint leaves its free text
-- ("key <fingerprint>: <message>") for its own column.
INSERT INTO conditions (kind, reason, until_at, key_fingerprint, since, updated_at)
SELECT key,
       CASE WHEN key = 'auth_blocked' AND value GLOB 'key *: *'
            THEN substr(value, instr(value, ': ') + 2) ELSE value END,
       until_at,
       CASE WHEN key = 'auth_blocked' AND value GLOB 'key *: *'
            THEN substr(value, 5, instr(value, ': ') - 5) END,
       updated_at,
       updated_at
FROM daemon_state
WHERE key IN ('api_paused', 'auth_blocked', 'wrong_account');

DROP TABLE daemon_state;
