-- Configuration changes (issue 12).
-- The Gcore account the database works for: the `client_id` the API puts on its tasks, learnt
-- from the first task seen. Never the key, nor anything derived from it. One row at most.
CREATE TABLE account (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    client_id   INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
-- The report settings the task was created with (JSON: max_attempts, resubmit_lost), so a task
-- whose report is removed from the config finishes under them, not the built-in defaults.
ALTER TABLE tasks ADD COLUMN settings TEXT;
-- When the task's file was downloaded (Unix ms): `updated_at` moves with every later change
-- (a hook run, a retry-hook), the download time does not.
ALTER TABLE tasks ADD COLUMN downloaded_at INTEGER;
UPDATE tasks SET downloaded_at = updated_at WHERE state = 'done';
-- Who owns a file path (a file recorded for one task is never replaced by another's). Each
-- report's newest period (catch-up since the last task) uses 0008's tasks_report_period.
CREATE INDEX tasks_file_path ON tasks (file_path) WHERE file_path IS NOT NULL;
