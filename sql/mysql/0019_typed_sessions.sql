-- A session names its user in a column of its own, so that a request reads its session and
-- its user in one indexed statement (the user's roles and disabled flag as they are now),
-- and disabling a user ends their sessions with one DELETE. The session's other values are
-- no longer gob-encoded by fiber but encoded by app/auth; sessions of the old encoding are
-- ended here, so everyone signs in once again after the upgrade.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0, ADD KEY ix_sessions_user (user_id);
