-- The server's own creation time of the current remote task (Unix ms), so batched status polls
-- can ask the list operation for exactly the window their tasks were created in.
ALTER TABLE tasks ADD COLUMN remote_created_at INTEGER;
