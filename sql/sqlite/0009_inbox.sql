-- The database inbox (API.md, "Other ways in"): a business system that can only write to
-- a database inserts bills into inbox_bills; a job imports new rows within a minute and
-- writes back state and error; inbox_bill_status shows each row with its bill's status.
-- SQLite has no database accounts: db_user stays '' and the view shows every row. Confining
-- a business system to its own rows needs MySQL (see sql/mysql/0009_inbox.sql and README).

CREATE TABLE inbox_bills (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id        TEXT      NOT NULL,
  bill_no       TEXT      NOT NULL,
  item_code     TEXT      NOT NULL,
  payer_type    TEXT      NOT NULL,              -- internal | external
  payer_id      TEXT      NULL,                  -- student or staff number (internal)
  payer_name    TEXT      NULL,
  payer_phone   TEXT      NULL,
  amount        INTEGER   NULL,                  -- fen; NULL: the item's fixed price
  description   TEXT      NULL,
  due_date      DATE      NULL,
  metadata      TEXT      NULL,                  -- a JSON object, at most 4 KB
  created_at    DATETIME  NOT NULL DEFAULT CURRENT_TIMESTAMP, -- the writer's clock
  db_user       TEXT      NOT NULL DEFAULT '',   -- who wrote the row (MySQL only)
  state         TEXT      NOT NULL DEFAULT 'new', -- new -> importing -> imported | rejected
  error         TEXT      NOT NULL DEFAULT '',
  processed_at  DATETIME  NULL                   -- UTC: when claimed (importing) or finished
);
CREATE INDEX ix_inbox_bills_state ON inbox_bills (state, id);
CREATE INDEX ix_inbox_bills_app_bill ON inbox_bills (app_id, bill_no);

CREATE VIEW inbox_bill_status AS
SELECT i.id AS inbox_id, i.app_id, i.bill_no, i.item_code, i.state, i.error, i.created_at, i.processed_at,
       b.status, b.amount_due_fen AS amount, b.amount_paid_fen AS amount_paid,
       b.amount_refunded_fen AS amount_refunded, b.paid_at
  FROM inbox_bills i
  LEFT JOIN bills b ON i.state = 'imported' AND b.source_client = i.app_id AND b.bill_no = i.bill_no;
