-- Issue 13: what a verified download held, and the versions of a period's file.
-- data_rows / data_columns: the report's data rows (header not counted) and columns, as the
--   check before delivery counted them; NULL when the file was not checked (verify = "off").
--   data_rows = 0 is an empty report.
-- version: which version of the period's file this task delivered (1 = the first delivery,
--   2.. = restatements); NULL when it delivered none (unchanged on a refresh, or an empty
--   report not delivered under on_empty = "refetch").
-- delivered_at: when this task's download was checked and recorded (Unix ms).
-- next_refresh_at / next_refresh: on a period's first task (refresh 0), when the period is next
--   requested again and that refresh's number; NULL when no refresh is left.
ALTER TABLE tasks ADD COLUMN data_rows INTEGER;
ALTER TABLE tasks ADD COLUMN data_columns INTEGER;
ALTER TABLE tasks ADD COLUMN version INTEGER;
ALTER TABLE tasks ADD COLUMN delivered_at INTEGER;
ALTER TABLE tasks ADD COLUMN next_refresh_at INTEGER;
ALTER TABLE tasks ADD COLUMN next_refresh INTEGER;

CREATE INDEX tasks_refresh_due ON tasks (next_refresh_at) WHERE next_refresh_at IS NOT NULL;
