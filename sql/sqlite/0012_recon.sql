-- Reconciliation: statements from the channels and the bank, kept line by line and
-- versioned; reconciliation runs and the discrepancies they find; offline collections.

-- One statement file of one source for one business day (Asia/Shanghai). Fetching or
-- uploading it again with the same content changes nothing; different content becomes a
-- new version (the old one is kept, superseded) and a warning.
CREATE TABLE statements (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  source        TEXT  NOT NULL,              -- sandbox | campuscard | bank:<bank code>
  day           DATE         NOT NULL,
  version       INTEGER          NOT NULL,
  content_hash  TEXT     NOT NULL,              -- SHA-256 of the file
  origin        TEXT  NOT NULL,              -- fetch | upload
  file_name     TEXT NOT NULL DEFAULT '',
  line_count    INTEGER          NOT NULL,
  gross_fen     INTEGER       NOT NULL DEFAULT 0,    -- the statement's own summary
  fee_fen       INTEGER       NOT NULL DEFAULT 0,
  refund_fen    INTEGER       NOT NULL DEFAULT 0,
  net_fen       INTEGER       NOT NULL DEFAULT 0,
  superseded    BOOLEAN      NOT NULL DEFAULT 0,
  created_by    TEXT  NOT NULL,
  created_at    DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_statements_version ON statements (source, day, version);
CREATE INDEX ix_statements_hash ON statements (source, day, content_hash);

CREATE TABLE statement_lines (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  statement_id  INTEGER       NOT NULL,
  line_no       INTEGER          NOT NULL,              -- as in the file (header = 1)
  kind          TEXT  NOT NULL,              -- pay | refund (channels); credit | debit (bank)
  trade_no      TEXT  NOT NULL DEFAULT '',   -- the channel's number (or the bank's serial)
  order_no      TEXT  NOT NULL DEFAULT '',   -- the platform's order number
  refund_no     TEXT  NOT NULL DEFAULT '',   -- the platform's (or the channel's) refund number
  amount_fen    INTEGER       NOT NULL,
  fee_fen       INTEGER       NOT NULL DEFAULT 0,
  occurred_at   DATETIME  NOT NULL,
  reference     TEXT NOT NULL DEFAULT '',   -- bank: the remitter's memo
  counterparty  TEXT NOT NULL DEFAULT '',   -- bank: who paid or was paid
  raw           TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (statement_id) REFERENCES statements (id)
);
CREATE INDEX ix_statement_lines_statement ON statement_lines (statement_id, line_no);
CREATE INDEX ix_statement_lines_order ON statement_lines (order_no);
CREATE INDEX ix_statement_lines_trade ON statement_lines (trade_no);

-- One reconciliation of one day: kind channel (platform ↔ a channel) or bank (a channel's
-- settlement ↔ the bank). Reruns add runs; the latest is the day's status.
CREATE TABLE recon_runs (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  kind               TEXT  NOT NULL,         -- channel | bank
  source             TEXT  NOT NULL,         -- the channel (for bank runs: the channel settled)
  day                DATE         NOT NULL,
  status             TEXT  NOT NULL,         -- running | done | failed
  statement_id       INTEGER       NULL,
  matched_count      INTEGER          NOT NULL DEFAULT 0,
  matched_fen        INTEGER       NOT NULL DEFAULT 0,
  repaired_count     INTEGER          NOT NULL DEFAULT 0,
  discrepancy_count  INTEGER          NOT NULL DEFAULT 0,
  message            TEXT NOT NULL DEFAULT '',
  run_by             TEXT  NOT NULL,
  started_at         DATETIME  NOT NULL,
  finished_at        DATETIME  NULL
);
CREATE INDEX ix_recon_runs_day ON recon_runs (kind, source, day, id);

-- A difference a run found. (kind, source, day, type, item_key) is unique: a rerun that
-- finds the same difference updates it instead of adding another.
CREATE TABLE discrepancies (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  kind               TEXT  NOT NULL,         -- channel | bank
  source             TEXT  NOT NULL,
  day                DATE         NOT NULL,
  type               TEXT  NOT NULL,         -- missing_platform | missing_channel | amount_differs | status_differs | settlement_unmatched | bank_unexplained
  item_key           TEXT NOT NULL,         -- order no, refund no, or statement line reference
  order_no           TEXT  NOT NULL DEFAULT '',
  refund_no          TEXT  NOT NULL DEFAULT '',
  trade_no           TEXT  NOT NULL DEFAULT '',
  platform_fen       INTEGER       NOT NULL DEFAULT 0,
  channel_fen        INTEGER       NOT NULL DEFAULT 0,
  statement_line_id  INTEGER       NULL,
  bank_line_id       INTEGER       NULL,
  status             TEXT  NOT NULL DEFAULT 'open',   -- open | resolved | cleared (a repair or a later statement cleared it)
  note               TEXT NOT NULL DEFAULT '',
  resolved_by        TEXT  NOT NULL DEFAULT '',
  resolved_at        DATETIME  NULL,
  first_run_id       INTEGER       NOT NULL,
  last_run_id        INTEGER       NOT NULL,
  created_at         DATETIME  NOT NULL,
  updated_at         DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_discrepancies_item ON discrepancies (kind, source, day, type, item_key);
CREATE INDEX ix_discrepancies_status ON discrepancies (status, day);

-- How to read one bank's statement export: which column holds what (saved per bank).
CREATE TABLE bank_mappings (
  bank_code     TEXT   NOT NULL PRIMARY KEY,
  name          TEXT  NOT NULL,
  mapping       TEXT NOT NULL,              -- JSON: column names for date, time, amount, direction, credit, debit, reference, counterparty, serial
  updated_by    TEXT   NOT NULL,
  updated_at    DATETIME   NOT NULL
);

-- Money collected by cash, POS or bank deduction, imported from a file. Each settles one
-- bill through an order and a payment of channel 'offline'; (method, reference) is unique,
-- so the same collection is never applied twice.
CREATE TABLE offline_collections (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  method         TEXT  NOT NULL,              -- cash | pos | deduction
  reference      TEXT  NOT NULL,              -- the receipt book number, POS trace number, or deduction serial
  bill_id        INTEGER       NOT NULL,
  order_id       INTEGER       NOT NULL,
  payment_id     INTEGER       NOT NULL,
  amount_fen     INTEGER       NOT NULL,
  collected_on   DATE         NOT NULL,
  note           TEXT NOT NULL DEFAULT '',
  import_job_id  INTEGER       NULL,
  created_by     TEXT  NOT NULL,
  created_at     DATETIME  NOT NULL,
  FOREIGN KEY (bill_id) REFERENCES bills (id)
);
CREATE UNIQUE INDEX uq_offline_reference ON offline_collections (method, reference);
CREATE INDEX ix_offline_collected ON offline_collections (collected_on);

