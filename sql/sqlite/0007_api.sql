-- Business systems (接入系统) and what the signed integration API keeps.

CREATE TABLE clients (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id         TEXT   NOT NULL,
  name           TEXT  NOT NULL,
  secret_sealed  TEXT  NOT NULL,              -- AES-GCM sealed (auth.Box); shown once in plain
  allowed_items  TEXT NOT NULL DEFAULT '',   -- comma-separated charge item codes
  callback_url   TEXT  NOT NULL DEFAULT '',
  roster         BOOLEAN       NOT NULL DEFAULT 0, -- may sync the payer roster
  legacy_md5     BOOLEAN       NOT NULL DEFAULT 0, -- may sign with the legacy MD5 scheme
  disabled       BOOLEAN       NOT NULL DEFAULT 0,
  secret_set_at  DATETIME   NOT NULL,
  created_at     DATETIME   NOT NULL,
  updated_at     DATETIME   NOT NULL
);
CREATE UNIQUE INDEX uq_clients_app_id ON clients (app_id);

-- Nonces seen in the last 15 minutes, per client: a request that reuses one is a replay.
CREATE TABLE api_nonces (
  app_id      TEXT NOT NULL,
  nonce       TEXT NOT NULL,
  expires_at  DATETIME NOT NULL,
  PRIMARY KEY (app_id, nonce)
);
CREATE INDEX ix_api_nonces_expires ON api_nonces (expires_at);

-- Every signed request, for the client's request log in the console.
CREATE TABLE api_requests (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id       TEXT  NOT NULL,
  method       TEXT   NOT NULL,
  path         TEXT NOT NULL,
  status       INTEGER          NOT NULL,
  error_code   TEXT  NOT NULL DEFAULT '',
  message      TEXT NOT NULL DEFAULT '',
  duration_ms  INTEGER          NOT NULL DEFAULT 0,
  remote_addr  TEXT  NOT NULL DEFAULT '',
  at           DATETIME  NOT NULL
);
CREATE INDEX ix_api_requests_client_at ON api_requests (app_id, at);

