-- Issue 19: the ledger's attempts, one row per remote task made, or maybe made, for a task.
-- An attempt begins when its create is marked "maybe sent" (`sent_at`). It carries the
-- `polling.deadline` counted from that mark, and the remote task's uuid once known. It ends
-- (`ended_at`, `ended_as`) when the create certainly was not sent, the server refused it, a
-- search found no task of it, its remote task failed, expired or vanished, or its file was
-- delivered. A task has at most one live attempt (unique index); a held task keeps its
-- uncertain attempt live. The `tasks` row keeps the current attempt's fields for the engine's
-- hot path; this table is the record of every attempt. Its rows are written in the
-- transactions that change the task.
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    sent_at     INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL,
    uuid        TEXT,
    ended_at    INTEGER,
    ended_as    TEXT
);
CREATE UNIQUE INDEX attempts_one_live_per_task ON attempts (task_id) WHERE ended_at IS NULL;
CREATE INDEX attempts_uuid ON attempts (uuid) WHERE uuid IS NOT NULL;

-- Carried over: each task's current attempt, as its row knows it. Earlier attempts are in the
-- task's events only (their uuids and why they ended).
INSERT INTO attempts (task_id, sent_at, deadline_at, uuid, ended_at, ended_as)
SELECT id, COALESCE(intent_at, remote_created_at, created_at), deadline_at, uuid,
    CASE WHEN state IN ('creating', 'polling', 'downloading', 'held') THEN NULL
        ELSE updated_at END,
    CASE WHEN state IN ('creating', 'polling', 'downloading', 'held') THEN NULL
        WHEN state = 'done' THEN 'delivered'
        WHEN state = 'intent' THEN 'abandoned by an operator'
        ELSE state END
FROM tasks
WHERE uuid IS NOT NULL OR intent_at IS NOT NULL
ORDER BY id;
