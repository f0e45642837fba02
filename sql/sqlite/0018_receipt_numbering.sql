-- Receipts numbered in batches by one writer (docs/PERFORMANCE.md, the rush, item 2).
--
-- A payment's transaction writes its receipts with receipt_no and seq NULL; the numberer
-- (app/billing/numbering.go) then numbers every pending receipt, oldest id first, in one
-- short transaction that takes the year's receipt_sequences row once for the whole batch.
-- Numbers stay gapless per year and unique: the unique keys on receipt_no and (year, seq)
-- still hold, and NULLs do not collide in them.
--
-- SQLite cannot make a column nullable in place: the table is rebuilt with the same
-- columns, rows and indexes. No other table refers to receipts.

CREATE TABLE receipts_new (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  receipt_no     TEXT              NULL,      -- NULL until numbered
  year           INTEGER       NOT NULL,
  seq            INTEGER           NULL,      -- NULL until numbered
  bill_id        INTEGER       NOT NULL,
  order_id       INTEGER       NOT NULL,
  payment_id     INTEGER       NOT NULL,
  payer_name     TEXT          NOT NULL,
  payer_no       TEXT          NOT NULL DEFAULT '',
  item_name      TEXT          NOT NULL,
  department     TEXT          NOT NULL,
  amount_fen     INTEGER       NOT NULL,
  channel        TEXT          NOT NULL,
  verify_token   TEXT          NOT NULL,
  print_count    INTEGER       NOT NULL DEFAULT 0,
  voided         BOOLEAN       NOT NULL DEFAULT 0,
  void_reason    TEXT          NOT NULL DEFAULT '',
  issued_at      DATETIME      NOT NULL,
  replaces_no    TEXT          NOT NULL DEFAULT ''
);
INSERT INTO receipts_new (id, receipt_no, year, seq, bill_id, order_id, payment_id, payer_name, payer_no, item_name,
  department, amount_fen, channel, verify_token, print_count, voided, void_reason, issued_at, replaces_no)
SELECT id, receipt_no, year, seq, bill_id, order_id, payment_id, payer_name, payer_no, item_name,
  department, amount_fen, channel, verify_token, print_count, voided, void_reason, issued_at, replaces_no
FROM receipts;
DROP TABLE receipts;
ALTER TABLE receipts_new RENAME TO receipts;
CREATE UNIQUE INDEX uq_receipts_no ON receipts (receipt_no);
CREATE UNIQUE INDEX uq_receipts_year_seq ON receipts (year, seq);
CREATE UNIQUE INDEX uq_receipts_verify ON receipts (verify_token);
CREATE UNIQUE INDEX uq_receipts_payment_bill ON receipts (payment_id, bill_id, replaces_no);
CREATE INDEX ix_receipts_order ON receipts (order_id);
CREATE INDEX ix_receipts_issued ON receipts (issued_at);
CREATE INDEX ix_receipts_bill ON receipts (bill_id);
-- The numberer's queue: the receipts still to number, oldest first.
CREATE INDEX ix_receipts_unnumbered ON receipts (id) WHERE seq IS NULL;
