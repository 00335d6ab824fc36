-- Issue 23 (SQLite's 0019): several hosts on one database. A task is worked by the host whose
-- lease it carries (`lease_owner`, the host's lease id: a fresh one at each start and after
-- each lapse); `lease_token` counts the claims. A running hook records the host running it
-- (`hook_owner`), so a dead host's hook is armed again by another. `hosts` holds each host's
-- lease, renewed on the database's clock (`clock_timestamp()`, in Unix ms).
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN hook_owner TEXT;
CREATE TABLE hosts (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    pid         BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    lease_until BIGINT  NOT NULL
);
CREATE INDEX tasks_leased ON tasks (lease_owner) WHERE lease_owner IS NOT NULL;
