-- Spreadsheet imports (bills under a charge item; the payer roster) run in the background:
-- one row per uploaded file, which the page polls for its progress. And the indexes that
-- keep an item's progress page fast with hundreds of thousands of bills.

CREATE TABLE import_jobs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind           TEXT     NOT NULL,                       -- bills | roster
  item_id        INTEGER  NULL,                           -- the charge item, for kind bills
  department_id  INTEGER  NULL,                           -- whose records: department staff see their own
  file_name      TEXT     NOT NULL DEFAULT '',
  status         TEXT     NOT NULL DEFAULT 'pending',     -- pending | validating | importing | done | failed
  total          INTEGER  NOT NULL DEFAULT 0,             -- data rows in the file
  processed      INTEGER  NOT NULL DEFAULT 0,             -- rows validated, then rows written
  error_count    INTEGER  NOT NULL DEFAULT 0,             -- bad rows (all of them, not only those kept)
  errors         TEXT     NULL,                           -- JSON [{"line":3,"message":"…"}], the first 200
  message        TEXT     NOT NULL DEFAULT '',            -- the outcome in one sentence
  created_by     TEXT     NOT NULL,                       -- login name, as the audit log names people
  created_at     DATETIME NOT NULL,
  started_at     DATETIME NULL,
  finished_at    DATETIME NULL,
  updated_at     DATETIME NOT NULL                        -- a heartbeat while running
);
CREATE INDEX ix_import_jobs_item ON import_jobs (item_id, created_at);
CREATE INDEX ix_import_jobs_kind ON import_jobs (kind, created_at);

-- An item's progress reads its bills from this index alone (no table rows).
CREATE INDEX ix_bills_item_progress ON bills (item_id, status, amount_due_fen, amount_paid_fen, amount_refunded_fen, payer_id, payer_phone);

-- Collected per day joins an item's order lines to the overpayments of their orders.
CREATE INDEX ix_overpayments_order ON overpayments (order_id, bill_id);
