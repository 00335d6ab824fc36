-- Issue 23: several hosts on one database. A task is worked by the host whose lease it
-- carries (`lease_owner`, the host's lease id: a fresh one at each start and after each
-- lapse); `lease_token` counts the claims. A running hook records the host running it
-- (`hook_owner`), so a dead host's hook is armed again by another. `hosts` holds each host's
-- lease, renewed on the database's clock. SQLite serves one host (its lock file), so a daemon
-- on SQLite leaves these empty; the columns exist so that one store serves both backends.
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN hook_owner TEXT;
CREATE TABLE hosts (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);
CREATE INDEX tasks_leased ON tasks (lease_owner) WHERE lease_owner IS NOT NULL;
