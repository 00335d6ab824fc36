-- Issue 19: a period whose create cannot be reconciled from the evidence is `held` for an
-- operator (it was `failed`). A held task is unfinished: it keeps its period's one live slot,
-- so no refresh or retry of the period starts a second remote task beside it. Tasks held
-- before this release stay `failed`, as they were recorded.
DROP INDEX tasks_one_live_per_period;
CREATE UNIQUE INDEX tasks_one_live_per_period ON tasks (request)
    WHERE state IN ('intent', 'creating', 'polling', 'downloading', 'held');
