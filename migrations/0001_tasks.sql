-- One row per (report, period): the daemon's whole memory of a report task.
-- Times are Unix milliseconds (UTC). Local states: intent, creating, polling,
-- downloading, done, failed, expired, lost.
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    report          TEXT    NOT NULL,
    period_from     TEXT    NOT NULL,           -- YYYY-MM-DD, first day of the period
    period_to       TEXT    NOT NULL,           -- YYYY-MM-DD, the date_to sent to the API
    template        TEXT    NOT NULL,
    format          TEXT    NOT NULL,           -- csv | json | xlsx
    parameters      TEXT    NOT NULL,           -- JSON object sent as `parameters`
    file_name       TEXT    NOT NULL,           -- file name inside the output directory
    state           TEXT    NOT NULL,
    uuid            TEXT,                       -- remote task uuid, once known
    remote_status   TEXT,                       -- last status the API reported, verbatim
    attempts        INTEGER NOT NULL DEFAULT 0, -- remote tasks created for this period
    tries           INTEGER NOT NULL DEFAULT 0, -- polls or failed tries of the current step
    next_attempt_at INTEGER NOT NULL,           -- when the task is next looked at
    intent_at       INTEGER,                    -- when the current create was started
    deadline_at     INTEGER NOT NULL,           -- after this the task expires
    last_error      TEXT,
    file_path       TEXT,
    bytes           INTEGER,
    sha256          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (report, period_from, period_to)
);

-- The hot query: "which unfinished tasks are due now".
CREATE INDEX tasks_active_due ON tasks (next_attempt_at)
    WHERE state IN ('intent', 'creating', 'polling', 'downloading');
CREATE INDEX tasks_uuid ON tasks (uuid) WHERE uuid IS NOT NULL;
CREATE INDEX tasks_updated ON tasks (updated_at);

-- Append-only history: every state or status transition, each attempt's uuid and reason.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    task_id       INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    uuid          TEXT,
    remote_status TEXT,
    message       TEXT
);
CREATE INDEX events_task ON events (task_id, id);
CREATE INDEX events_uuid ON events (uuid) WHERE uuid IS NOT NULL;
