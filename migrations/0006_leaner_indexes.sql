-- Every state change rewrites `updated_at`; indexes on it cost a page write per commit.
-- `tasks_updated` served only the end-of-run summary (a scan there is cheap), and the metrics'
-- per-report last success needs (state, report) only.
DROP INDEX tasks_updated;
DROP INDEX tasks_state_report;
CREATE INDEX tasks_state_report ON tasks (state, report);
