-- Issue 19, scenario 4: the evidence that tells a bad transfer from a bad remote file.
-- rejected_sha256: the sha256 of the last downloaded body that failed verification;
-- rejected_uuid: the remote task it was downloaded from. A second rejected download of the
--   same remote task with the same sha256 means the remote file itself is bad (a new remote
--   task is made); different bytes mean the transfer was at fault (downloaded again, no
--   attempt used). Kept in the row so a restart between the two downloads keeps the evidence;
--   cleared when the period is resubmitted. NULL: no rejected download of this remote task.
ALTER TABLE tasks ADD COLUMN rejected_sha256 TEXT;
ALTER TABLE tasks ADD COLUMN rejected_uuid TEXT;
