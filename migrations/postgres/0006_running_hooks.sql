-- Issue 23 (SQLite's 0021): each step of a host sharing the database looks for hooks a dead
-- host left `running` (few rows): from an index, not a scan of every task.
CREATE INDEX tasks_hook_running ON tasks (id) WHERE hook_state = 'running';
