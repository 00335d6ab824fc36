-- Hooks (on_success / on_failure commands) run after a task ends. `hook_state` is 'pending'
-- from the moment the task ends until the hook has run, so a crash in between still runs it.
ALTER TABLE tasks ADD COLUMN hook_state TEXT;   -- NULL (no hook), pending, ok, failed
CREATE INDEX tasks_hook_pending ON tasks (id) WHERE hook_state = 'pending';
