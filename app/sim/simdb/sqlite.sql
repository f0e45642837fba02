-- The simulated outside world's own books (sqlite): the sandbox payment company and the
-- campus card system. Not part of the platform's schema: simdb.Migrate creates these tables
-- only where the simulators run (a demo database, or -simulators), and the tests. Every
-- statement may run again.

CREATE TABLE IF NOT EXISTS sim_sandbox_trades (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  trade_no      TEXT  NOT NULL,
  out_trade_no  TEXT  NOT NULL,
  merchant      TEXT  NOT NULL,
  subject       TEXT NOT NULL DEFAULT '',
  amount_fen    INTEGER       NOT NULL,
  notify_url    TEXT NOT NULL,
  return_url    TEXT NOT NULL DEFAULT '',
  status        TEXT  NOT NULL,   -- WAIT_PAY | SUCCESS | CLOSED
  refunded_fen  INTEGER       NOT NULL DEFAULT 0,
  created_at    DATETIME  NOT NULL,
  paid_at       DATETIME  NULL,
  expires_at    DATETIME  NULL       -- after it the trade can no longer be paid
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_sandbox_trades_trade ON sim_sandbox_trades (trade_no);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_sandbox_trades_out ON sim_sandbox_trades (merchant, out_trade_no);

CREATE TABLE IF NOT EXISTS sim_sandbox_refunds (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  refund_no      TEXT  NOT NULL,
  out_refund_no  TEXT  NOT NULL,
  trade_no       TEXT  NOT NULL,
  amount_fen     INTEGER       NOT NULL,
  status         TEXT  NOT NULL,   -- SUCCESS | FAILED
  created_at     DATETIME  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_sandbox_refunds_no ON sim_sandbox_refunds (refund_no);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_sandbox_refunds_out ON sim_sandbox_refunds (trade_no, out_refund_no);

CREATE TABLE IF NOT EXISTS sim_card_accounts (
  card_no        TEXT  NOT NULL PRIMARY KEY,
  holder_no      TEXT  NOT NULL,
  holder_name    TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  balance_fen    INTEGER       NOT NULL,
  frozen         BOOLEAN      NOT NULL DEFAULT 0,
  updated_at     DATETIME  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_card_accounts_holder ON sim_card_accounts (holder_no);

CREATE TABLE IF NOT EXISTS sim_card_txns (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  txn_no        TEXT  NOT NULL,
  card_no       TEXT  NOT NULL,
  kind          TEXT  NOT NULL,   -- debit | refund
  out_no        TEXT  NOT NULL,   -- the platform's order number (debit) or refund number
  debit_txn_no  TEXT  NOT NULL DEFAULT '',  -- for a refund: the debit it returns
  amount_fen    INTEGER       NOT NULL,
  balance_after INTEGER       NOT NULL,
  created_at    DATETIME  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_card_txns_no ON sim_card_txns (txn_no);
CREATE UNIQUE INDEX IF NOT EXISTS uq_sim_card_txns_out ON sim_card_txns (kind, out_no);
CREATE INDEX IF NOT EXISTS ix_sim_card_txns_created ON sim_card_txns (created_at);
CREATE INDEX IF NOT EXISTS ix_sim_card_txns_debit ON sim_card_txns (debit_txn_no);

