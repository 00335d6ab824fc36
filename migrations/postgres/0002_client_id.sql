-- Issue 21 (SQLite's 0016): a fan-out report's tasks ask their client's `client_id` in their
-- parameters. The column only lets status, backfill and the scheduler find a report's tasks per
-- client without parsing every row's JSON; it is computed from the parameters (STORED: what
-- PostgreSQL generates), NULL for a task without an integer `client_id`.
ALTER TABLE tasks ADD COLUMN client_id BIGINT GENERATED ALWAYS AS (
    CASE WHEN (parameters::jsonb ->> 'client_id') ~ '^-?[0-9]{1,18}$'
        THEN (parameters::jsonb ->> 'client_id')::bigint END) STORED;

-- Each client's newest period of a fan-out report (where its catch-up starts).
CREATE INDEX tasks_by_report_client ON tasks (report, client_id, period_from)
    WHERE client_id IS NOT NULL;
