-- Reconciliation: statements from the channels and the bank, kept line by line and
-- versioned; reconciliation runs and the discrepancies they find; offline collections.

-- One statement file of one source for one business day (Asia/Shanghai). Fetching or
-- uploading it again with the same content changes nothing; different content becomes a
-- new version (the old one is kept, superseded) and a warning.
CREATE TABLE statements (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  source        VARCHAR(32)  NOT NULL,              -- sandbox | campuscard | bank:<bank code>
  day           DATE         NOT NULL,
  version       INT          NOT NULL,
  content_hash  CHAR(64)     NOT NULL,              -- SHA-256 of the file
  origin        VARCHAR(16)  NOT NULL,              -- fetch | upload
  file_name     VARCHAR(200) NOT NULL DEFAULT '',
  line_count    INT          NOT NULL,
  gross_fen     BIGINT       NOT NULL DEFAULT 0,    -- the statement's own summary
  fee_fen       BIGINT       NOT NULL DEFAULT 0,
  refund_fen    BIGINT       NOT NULL DEFAULT 0,
  net_fen       BIGINT       NOT NULL DEFAULT 0,
  superseded    BOOLEAN      NOT NULL DEFAULT FALSE,
  created_by    VARCHAR(64)  NOT NULL,
  created_at    DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_statements_version (source, day, version),
  KEY ix_statements_hash (source, day, content_hash)
);

CREATE TABLE statement_lines (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  statement_id  BIGINT       NOT NULL,
  line_no       INT          NOT NULL,              -- as in the file (header = 1)
  kind          VARCHAR(16)  NOT NULL,              -- pay | refund (channels); credit | debit (bank)
  trade_no      VARCHAR(64)  NOT NULL DEFAULT '',   -- the channel's number (or the bank's serial)
  order_no      VARCHAR(64)  NOT NULL DEFAULT '',   -- the platform's order number
  refund_no     VARCHAR(64)  NOT NULL DEFAULT '',   -- the platform's (or the channel's) refund number
  amount_fen    BIGINT       NOT NULL,
  fee_fen       BIGINT       NOT NULL DEFAULT 0,
  occurred_at   DATETIME(6)  NOT NULL,
  reference     VARCHAR(200) NOT NULL DEFAULT '',   -- bank: the remitter's memo
  counterparty  VARCHAR(200) NOT NULL DEFAULT '',   -- bank: who paid or was paid
  raw           VARCHAR(1000) NOT NULL DEFAULT '',
  KEY ix_statement_lines_statement (statement_id, line_no),
  KEY ix_statement_lines_order (order_no),
  KEY ix_statement_lines_trade (trade_no),
  CONSTRAINT fk_statement_lines_statement FOREIGN KEY (statement_id) REFERENCES statements (id)
);

-- One reconciliation of one day: kind channel (platform ↔ a channel) or bank (a channel's
-- settlement ↔ the bank). Reruns add runs; the latest is the day's status.
CREATE TABLE recon_runs (
  id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
  kind               VARCHAR(16)  NOT NULL,         -- channel | bank
  source             VARCHAR(32)  NOT NULL,         -- the channel (for bank runs: the channel settled)
  day                DATE         NOT NULL,
  status             VARCHAR(16)  NOT NULL,         -- running | done | failed
  statement_id       BIGINT       NULL,
  matched_count      INT          NOT NULL DEFAULT 0,
  matched_fen        BIGINT       NOT NULL DEFAULT 0,
  repaired_count     INT          NOT NULL DEFAULT 0,
  discrepancy_count  INT          NOT NULL DEFAULT 0,
  message            VARCHAR(500) NOT NULL DEFAULT '',
  run_by             VARCHAR(64)  NOT NULL,
  started_at         DATETIME(6)  NOT NULL,
  finished_at        DATETIME(6)  NULL,
  KEY ix_recon_runs_day (kind, source, day, id)
);

-- A difference a run found. (kind, source, day, type, item_key) is unique: a rerun that
-- finds the same difference updates it instead of adding another.
CREATE TABLE discrepancies (
  id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
  kind               VARCHAR(16)  NOT NULL,         -- channel | bank
  source             VARCHAR(32)  NOT NULL,
  day                DATE         NOT NULL,
  type               VARCHAR(32)  NOT NULL,         -- missing_platform | missing_channel | amount_differs | status_differs | settlement_unmatched | bank_unexplained
  item_key           VARCHAR(100) NOT NULL,         -- order no, refund no, or statement line reference
  order_no           VARCHAR(64)  NOT NULL DEFAULT '',
  refund_no          VARCHAR(64)  NOT NULL DEFAULT '',
  trade_no           VARCHAR(64)  NOT NULL DEFAULT '',
  platform_fen       BIGINT       NOT NULL DEFAULT 0,
  channel_fen        BIGINT       NOT NULL DEFAULT 0,
  statement_line_id  BIGINT       NULL,
  bank_line_id       BIGINT       NULL,
  status             VARCHAR(16)  NOT NULL DEFAULT 'open',   -- open | resolved | cleared (a repair or a later statement cleared it)
  note               VARCHAR(500) NOT NULL DEFAULT '',
  resolved_by        VARCHAR(64)  NOT NULL DEFAULT '',
  resolved_at        DATETIME(6)  NULL,
  first_run_id       BIGINT       NOT NULL,
  last_run_id        BIGINT       NOT NULL,
  created_at         DATETIME(6)  NOT NULL,
  updated_at         DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_discrepancies_item (kind, source, day, type, item_key),
  KEY ix_discrepancies_status (status, day)
);

-- How to read one bank's statement export: which column holds what (saved per bank).
CREATE TABLE bank_mappings (
  bank_code     VARCHAR(32)   NOT NULL PRIMARY KEY,
  name          VARCHAR(100)  NOT NULL,
  mapping       VARCHAR(2000) NOT NULL,              -- JSON: column names for date, time, amount, direction, credit, debit, reference, counterparty, serial
  updated_by    VARCHAR(64)   NOT NULL,
  updated_at    DATETIME(6)   NOT NULL
);

-- Money collected by cash, POS or bank deduction, imported from a file. Each settles one
-- bill through an order and a payment of channel 'offline'; (method, reference) is unique,
-- so the same collection is never applied twice.
CREATE TABLE offline_collections (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  method         VARCHAR(16)  NOT NULL,              -- cash | pos | deduction
  reference      VARCHAR(64)  NOT NULL,              -- the receipt book number, POS trace number, or deduction serial
  bill_id        BIGINT       NOT NULL,
  order_id       BIGINT       NOT NULL,
  payment_id     BIGINT       NOT NULL,
  amount_fen     BIGINT       NOT NULL,
  collected_on   DATE         NOT NULL,
  note           VARCHAR(200) NOT NULL DEFAULT '',
  import_job_id  BIGINT       NULL,
  created_by     VARCHAR(64)  NOT NULL,
  created_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_offline_reference (method, reference),
  KEY ix_offline_collected (collected_on),
  CONSTRAINT fk_offline_bill FOREIGN KEY (bill_id) REFERENCES bills (id)
);
