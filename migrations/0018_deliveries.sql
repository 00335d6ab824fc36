-- Issue 19: the ledger's deliveries, one row per (period, version, destination).
--
-- A period is its request (its refreshes share it); each version of its file is delivered to
-- each destination once. Today the one destination is the output directory ('output_dir');
-- object-storage destinations add rows of their own under the same unique key, which is the
-- promise: a file version reaches a destination exactly once. `location` is where it was put
-- at the time (the path; an object key later), `delivered_at` when (Unix ms).
--
-- Carried over: every `done` task that delivered a version of its file. A refresh that found
-- the file unchanged keeps the period's path with no version: it delivered nothing and is not
-- carried. A task delivered before versions were kept (before migration 0012: no version, no
-- `delivered_at`) is carried as version 0 ("before versions"), the period's first task only
-- (0008 kept a request's rows under other names as `refresh` = their id).
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    request      TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    destination  TEXT    NOT NULL,
    location     TEXT    NOT NULL,
    bytes        INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    data_rows    INTEGER,
    delivered_at INTEGER NOT NULL,
    UNIQUE (request, version, destination)
);
CREATE INDEX deliveries_task ON deliveries (task_id);

INSERT INTO deliveries (task_id, request, version, destination, location, bytes, sha256,
    data_rows, delivered_at)
SELECT id, request, COALESCE(version, 0), 'output_dir', file_path, COALESCE(bytes, 0),
    COALESCE(sha256, ''), data_rows, COALESCE(delivered_at, downloaded_at, updated_at)
FROM tasks
WHERE state = 'done' AND file_path IS NOT NULL
    AND (version IS NOT NULL OR (delivered_at IS NULL AND refresh = 0))
ORDER BY id;

-- One live task per period: of a request's tasks (its first delivery and its refreshes) at
-- most one is unfinished at a time (refreshes are serialised; `retry` waits for the one in
-- flight). The scheduler keeps this already; the index makes a breach an error instead of a
-- second remote task. A database written before refreshes were serialised may hold two live
-- tasks of a period: the later refreshes are expired (with an event), the earliest kept.
INSERT INTO events (task_id, at, state, uuid, remote_status, message)
SELECT t.id, t.updated_at, 'expired', t.uuid, t.remote_status,
    'expired: an earlier task of the period was still unfinished (one at a time, migration 0018)'
FROM tasks t
WHERE t.state IN ('intent', 'creating', 'polling', 'downloading') AND EXISTS (
    SELECT 1 FROM tasks o WHERE o.request = t.request AND o.refresh < t.refresh
        AND o.state IN ('intent', 'creating', 'polling', 'downloading'));

UPDATE tasks SET state = 'expired',
    last_error = 'expired: an earlier task of the period was still unfinished (one at a time, migration 0018)'
WHERE state IN ('intent', 'creating', 'polling', 'downloading') AND EXISTS (
    SELECT 1 FROM tasks o WHERE o.request = tasks.request AND o.refresh < tasks.refresh
        AND o.state IN ('intent', 'creating', 'polling', 'downloading'));

CREATE UNIQUE INDEX tasks_one_live_per_period ON tasks (request)
    WHERE state IN ('intent', 'creating', 'polling', 'downloading');
