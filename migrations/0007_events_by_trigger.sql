-- A task's change and its event in one statement. An UPDATE of `tasks` that names
-- `event_message` in its SET clause (even as NULL: a bare status change) appends the event,
-- with the row's new state, uuid and status, at its `updated_at`; an INSERT that sets it
-- appends the first event. The column is only a way in: it is NULL again when the statement
-- ends (that reset, from a non-NULL value, is the one update that appends nothing).
-- One statement per change instead of four (BEGIN, UPDATE, INSERT event, COMMIT), at tens of
-- thousands of changes per run; a single statement is atomic on its own.
ALTER TABLE tasks ADD COLUMN event_message TEXT;

CREATE TRIGGER tasks_event_on_update AFTER UPDATE OF event_message ON tasks
WHEN OLD.event_message IS NULL
BEGIN
    INSERT INTO events (task_id, at, state, uuid, remote_status, message)
    VALUES (NEW.id, NEW.updated_at, NEW.state, NEW.uuid, NEW.remote_status, NEW.event_message);
    UPDATE tasks SET event_message = NULL WHERE id = NEW.id AND NEW.event_message IS NOT NULL;
END;

CREATE TRIGGER tasks_event_on_insert AFTER INSERT ON tasks WHEN NEW.event_message IS NOT NULL
BEGIN
    INSERT INTO events (task_id, at, state, uuid, remote_status, message)
    VALUES (NEW.id, NEW.created_at, NEW.state, NEW.uuid, NEW.remote_status, NEW.event_message);
    UPDATE tasks SET event_message = NULL WHERE id = NEW.id;
END;
