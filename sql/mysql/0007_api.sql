-- Business systems (接入系统) and what the signed integration API keeps.

CREATE TABLE clients (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  app_id         VARCHAR(64)   NOT NULL,
  name           VARCHAR(100)  NOT NULL,
  secret_sealed  VARCHAR(500)  NOT NULL,              -- AES-GCM sealed (auth.Box); shown once in plain
  allowed_items  VARCHAR(2000) NOT NULL DEFAULT '',   -- comma-separated charge item codes
  callback_url   VARCHAR(500)  NOT NULL DEFAULT '',
  roster         BOOLEAN       NOT NULL DEFAULT FALSE, -- may sync the payer roster
  legacy_md5     BOOLEAN       NOT NULL DEFAULT FALSE, -- may sign with the legacy MD5 scheme
  disabled       BOOLEAN       NOT NULL DEFAULT FALSE,
  secret_set_at  DATETIME(6)   NOT NULL,
  created_at     DATETIME(6)   NOT NULL,
  updated_at     DATETIME(6)   NOT NULL,
  UNIQUE KEY uq_clients_app_id (app_id)
);

-- Nonces seen in the last 15 minutes, per client: a request that reuses one is a replay.
CREATE TABLE api_nonces (
  app_id      VARCHAR(64) NOT NULL,
  nonce       VARCHAR(64) NOT NULL,
  expires_at  DATETIME(6) NOT NULL,
  PRIMARY KEY (app_id, nonce),
  KEY ix_api_nonces_expires (expires_at)
);

-- Every signed request, for the client's request log in the console.
CREATE TABLE api_requests (
  id           BIGINT AUTO_INCREMENT PRIMARY KEY,
  app_id       VARCHAR(64)  NOT NULL,
  method       VARCHAR(8)   NOT NULL,
  path         VARCHAR(500) NOT NULL,
  status       INT          NOT NULL,
  error_code   VARCHAR(32)  NOT NULL DEFAULT '',
  message      VARCHAR(500) NOT NULL DEFAULT '',
  duration_ms  INT          NOT NULL DEFAULT 0,
  remote_addr  VARCHAR(64)  NOT NULL DEFAULT '',
  at           DATETIME(6)  NOT NULL,
  KEY ix_api_requests_client_at (app_id, at)
);
