-- Issue 19, scenario 5: a period's version numbers are unique.
--
-- A period is its request (every refresh of it has the same `request`, numbered by `refresh`),
-- so (request, version) names one version of one period's file. Before this migration two
-- refreshes due at once could both read version N as current and both record N + 1.
--
-- Such duplicates are renumbered first, deterministically: within each period that has one,
-- its versions are numbered 1, 2, … in the order (version, delivered_at, id), i.e. the order
-- they were delivered in; each renumbered task gets an event saying so, timed at its delivery.
-- Periods without duplicates keep their numbers. The files on disk are not renamed: of two
-- deliveries that took the same number N, the current file holds the one recorded last (its
-- new number is the period's highest), and `{stem}.vN.{ext}` the file before both.
CREATE TEMP TABLE renumbered AS
SELECT id, version AS old_version, new_version
FROM (
    SELECT id, version,
        ROW_NUMBER() OVER (PARTITION BY request ORDER BY version, delivered_at, id) AS new_version
    FROM tasks
    WHERE version IS NOT NULL AND request IN (
        SELECT request FROM tasks WHERE version IS NOT NULL
        GROUP BY request, version HAVING COUNT(*) > 1
    )
)
WHERE version <> new_version;

INSERT INTO events (task_id, at, state, uuid, remote_status, message)
SELECT t.id, COALESCE(t.delivered_at, t.updated_at), t.state, t.uuid, t.remote_status,
    'version ' || r.old_version || ' is now version ' || r.new_version
        || ': another delivery of the period had the same number (migration 0015)'
FROM renumbered r JOIN tasks t ON t.id = r.id;

UPDATE tasks SET version = (SELECT new_version FROM renumbered r WHERE r.id = tasks.id)
WHERE id IN (SELECT id FROM renumbered);

DROP TABLE renumbered;

CREATE UNIQUE INDEX tasks_period_version ON tasks (request, version) WHERE version IS NOT NULL;
