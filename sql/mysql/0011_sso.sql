-- Single sign-on: which of our sessions a CAS service ticket opened, so that the CAS
-- server's single-logout request (which names the ticket) can end that session.

CREATE TABLE sso_sessions (
  ticket       VARCHAR(256) NOT NULL PRIMARY KEY,  -- the CAS service ticket (ST-…)
  session_key  VARCHAR(128) NOT NULL,              -- sessions.k
  login        VARCHAR(64)  NOT NULL DEFAULT '',   -- who signed in, for the audit log
  created_at   DATETIME(6)  NOT NULL,
  KEY ix_sso_sessions_created (created_at)
);
