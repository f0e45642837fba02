-- Single sign-on: which of our sessions a CAS service ticket opened, so that the CAS
-- server's single-logout request (which names the ticket) can end that session.

CREATE TABLE sso_sessions (
  ticket       TEXT     NOT NULL PRIMARY KEY,  -- the CAS service ticket (ST-…)
  session_key  TEXT     NOT NULL,              -- sessions.k
  login        TEXT     NOT NULL DEFAULT '',   -- who signed in, for the audit log
  created_at   DATETIME NOT NULL
);
CREATE INDEX ix_sso_sessions_created ON sso_sessions (created_at);
