-- Indexes for the operator views at scale (100,000 rows): `status` lists newest first, and
-- the metrics count tasks by state and find each report's last success without a table scan.
CREATE INDEX tasks_newest ON tasks (period_from DESC, id DESC);
CREATE INDEX tasks_state_report ON tasks (state, report, updated_at);
