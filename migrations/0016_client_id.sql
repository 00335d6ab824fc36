-- Issue 21: one report per client. A fan-out report's task asks its client's `client_id` in
-- its parameters, which are part of its request (its identity): nothing new is unique here.
-- The column only lets status, backfill and the scheduler find a report's tasks per client
-- without reading every row's JSON: it is computed from the parameters (VIRTUAL, so no row is
-- rewritten and no writer has to keep it in step), NULL for a task without a `client_id`.
ALTER TABLE tasks ADD COLUMN client_id INTEGER
    GENERATED ALWAYS AS (parameters ->> '$.client_id') VIRTUAL;

-- Each client's newest period of a fan-out report (where its catch-up starts).
CREATE INDEX tasks_by_report_client ON tasks (report, client_id, period_from)
    WHERE client_id IS NOT NULL;
