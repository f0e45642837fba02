-- The simulated outside world's own books (mysql): the sandbox payment company and the
-- campus card system. Not part of the platform's schema: simdb.Migrate creates these tables
-- only where the simulators run (a demo database, or -simulators), and the tests. Every
-- statement may run again.

CREATE TABLE IF NOT EXISTS sim_sandbox_trades (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  trade_no      VARCHAR(32)  NOT NULL,
  out_trade_no  VARCHAR(32)  NOT NULL,
  merchant      VARCHAR(32)  NOT NULL,
  subject       VARCHAR(200) NOT NULL DEFAULT '',
  amount_fen    BIGINT       NOT NULL,
  notify_url    VARCHAR(500) NOT NULL,
  return_url    VARCHAR(500) NOT NULL DEFAULT '',
  status        VARCHAR(16)  NOT NULL,   -- WAIT_PAY | SUCCESS | CLOSED
  refunded_fen  BIGINT       NOT NULL DEFAULT 0,
  created_at    DATETIME(6)  NOT NULL,
  paid_at       DATETIME(6)  NULL,
  expires_at    DATETIME(6)  NULL,       -- after it the trade can no longer be paid
  UNIQUE KEY uq_sim_sandbox_trades_trade (trade_no),
  UNIQUE KEY uq_sim_sandbox_trades_out (merchant, out_trade_no)
);

CREATE TABLE IF NOT EXISTS sim_sandbox_refunds (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  refund_no      VARCHAR(32)  NOT NULL,
  out_refund_no  VARCHAR(64)  NOT NULL,
  trade_no       VARCHAR(32)  NOT NULL,
  amount_fen     BIGINT       NOT NULL,
  status         VARCHAR(16)  NOT NULL,   -- SUCCESS | FAILED
  created_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_sim_sandbox_refunds_no (refund_no),
  UNIQUE KEY uq_sim_sandbox_refunds_out (trade_no, out_refund_no)
);

CREATE TABLE IF NOT EXISTS sim_card_accounts (
  card_no        VARCHAR(32)  NOT NULL PRIMARY KEY,
  holder_no      VARCHAR(32)  NOT NULL,
  holder_name    VARCHAR(100) NOT NULL,
  password_hash  VARCHAR(100) NOT NULL,
  balance_fen    BIGINT       NOT NULL,
  frozen         BOOLEAN      NOT NULL DEFAULT FALSE,
  updated_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_sim_card_accounts_holder (holder_no)
);

CREATE TABLE IF NOT EXISTS sim_card_txns (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  txn_no        VARCHAR(32)  NOT NULL,
  card_no       VARCHAR(32)  NOT NULL,
  kind          VARCHAR(16)  NOT NULL,   -- debit | refund
  out_no        VARCHAR(64)  NOT NULL,   -- the platform's order number (debit) or refund number
  debit_txn_no  VARCHAR(32)  NOT NULL DEFAULT '',  -- for a refund: the debit it returns
  amount_fen    BIGINT       NOT NULL,
  balance_after BIGINT       NOT NULL,
  created_at    DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_sim_card_txns_no (txn_no),
  UNIQUE KEY uq_sim_card_txns_out (kind, out_no),
  KEY ix_sim_card_txns_created (created_at),
  KEY ix_sim_card_txns_debit (debit_txn_no)
);
