-- A task is the request it makes, not the name of the report that made it.
--
-- `request` is the canonical request: the compact JSON {"parameters":{…},"template":"CODE"}
-- with the parameters' keys sorted (date_from and date_to included), exactly as the store
-- renders it in Rust. `refresh` numbers the deliveries of one request: 0 is the first, 1… are
-- later refreshes of the same period. (request, refresh) is the identity; the report name is a
-- label that can change.
--
-- Also: events are appended explicitly by the store, in the transaction of each change (the
-- `event_message` column and its triggers of 0007 are gone); `tries` is renamed
-- `backoff_step` (how far the current step has backed off, distinct from `attempts`, the
-- remote tasks created); `missing_since` is when the remote task first answered 404, so one
-- 404 is not yet "lost".
--
-- SQLite cannot drop a table constraint, so both tables are rebuilt. The new events table is
-- filled before the old tasks table is dropped: dropping a parent table deletes its rows, and
-- the cascade would take the history with it. Renaming tasks_new to tasks rewrites the new
-- events table's reference.
DROP TRIGGER tasks_event_on_update;
DROP TRIGGER tasks_event_on_insert;

CREATE TABLE tasks_new (
    id              INTEGER PRIMARY KEY,
    report          TEXT    NOT NULL,
    period_from     TEXT    NOT NULL,
    period_to       TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    format          TEXT    NOT NULL,
    parameters      TEXT    NOT NULL,
    file_name       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    uuid            TEXT,
    remote_status   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    backoff_step    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    intent_at       INTEGER,
    deadline_at     INTEGER NOT NULL,
    last_error      TEXT,
    file_path       TEXT,
    bytes           INTEGER,
    sha256          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    hook_state      TEXT,
    remote_created_at INTEGER,
    request         TEXT    NOT NULL,
    refresh         INTEGER NOT NULL DEFAULT 0,
    missing_since   INTEGER,
    UNIQUE (request, refresh)
);

-- Rows of one request under two names (possible before) keep the oldest; the others keep their
-- history under a request marked with their id, so nothing is lost and nothing collides.
INSERT INTO tasks_new (id, report, period_from, period_to, template, format, parameters,
    file_name, state, uuid, remote_status, attempts, backoff_step, next_attempt_at, intent_at,
    deadline_at, last_error, file_path, bytes, sha256, created_at, updated_at, hook_state,
    remote_created_at, request, refresh)
SELECT t.id, t.report, t.period_from, t.period_to, t.template, t.format, t.parameters,
    t.file_name, t.state, t.uuid, t.remote_status, t.attempts, t.tries, t.next_attempt_at,
    t.intent_at, t.deadline_at, t.last_error, t.file_path, t.bytes, t.sha256, t.created_at,
    t.updated_at, t.hook_state, t.remote_created_at,
    json_object('parameters', json(t.parameters), 'template', t.template),
    CASE WHEN EXISTS (
        SELECT 1 FROM tasks o WHERE o.id < t.id AND o.template = t.template
            AND json(o.parameters) = json(t.parameters)
    ) THEN t.id ELSE 0 END
FROM tasks t;

CREATE TABLE events_new (
    id            INTEGER PRIMARY KEY,
    task_id       INTEGER NOT NULL REFERENCES tasks_new (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    uuid          TEXT,
    remote_status TEXT,
    message       TEXT
);
INSERT INTO events_new (id, task_id, at, state, uuid, remote_status, message)
SELECT id, task_id, at, state, uuid, remote_status, message FROM events;

DROP TABLE events;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
ALTER TABLE events_new RENAME TO events;

CREATE INDEX tasks_active_due ON tasks (next_attempt_at)
    WHERE state IN ('intent', 'creating', 'polling', 'downloading');
CREATE INDEX tasks_uuid ON tasks (uuid) WHERE uuid IS NOT NULL;
CREATE INDEX tasks_hook_pending ON tasks (id) WHERE hook_state = 'pending';
CREATE INDEX tasks_newest ON tasks (period_from DESC, id DESC);
CREATE INDEX tasks_state_report ON tasks (state, report);
CREATE INDEX tasks_report_period ON tasks (report, period_from);
CREATE INDEX events_task ON events (task_id, id);
CREATE INDEX events_uuid ON events (uuid) WHERE uuid IS NOT NULL;
