-- The database inbox (API.md, "Other ways in"): a business system that can only write to
-- a database inserts bills into inbox_bills; a job imports new rows within a minute and
-- writes back state and error; inbox_bill_status shows each row with its bill's status.
--
-- A business system's database account is named exactly after its app id and gets only
--   GRANT INSERT (app_id, bill_no, item_code, payer_type, payer_id, payer_name, payer_phone,
--                 amount, description, due_date, metadata, created_at) ON inbox_bills
--   GRANT SELECT ON inbox_bill_status
-- (README, "Database inbox"). db_user records the account that wrote a row: the importer
-- rejects a row whose app_id is not that account's. The view shows an account its own rows
-- only, and runs with its definer's rights, so the account needs no grant on bills.

CREATE TABLE inbox_bills (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  app_id        VARCHAR(64)   NOT NULL,
  bill_no       VARCHAR(64)   NOT NULL,
  item_code     VARCHAR(32)   NOT NULL,
  payer_type    VARCHAR(16)   NOT NULL,              -- internal | external
  payer_id      VARCHAR(32)   NULL,                  -- student or staff number (internal)
  payer_name    VARCHAR(100)  NULL,
  payer_phone   VARCHAR(20)   NULL,
  amount        BIGINT        NULL,                  -- fen; NULL: the item's fixed price
  description   VARCHAR(200)  NULL,
  due_date      DATE          NULL,
  metadata      TEXT          NULL,                  -- a JSON object, at most 4 KB
  created_at    DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6), -- the writer's clock
  db_user       VARCHAR(80)   NOT NULL DEFAULT (SUBSTRING_INDEX(USER(), '@', 1)), -- who wrote the row; not writable by clients
  state         VARCHAR(16)   NOT NULL DEFAULT 'new', -- new -> importing -> imported | rejected
  error         VARCHAR(500)  NOT NULL DEFAULT '',
  processed_at  DATETIME(6)   NULL,                  -- UTC: when claimed (importing) or finished
  KEY ix_inbox_bills_state (state, id),
  KEY ix_inbox_bills_app_bill (app_id, bill_no)
);

CREATE SQL SECURITY DEFINER VIEW inbox_bill_status AS
SELECT i.id AS inbox_id, i.app_id, i.bill_no, i.item_code, i.state, i.error, i.created_at, i.processed_at,
       b.status, b.amount_due_fen AS amount, b.amount_paid_fen AS amount_paid,
       b.amount_refunded_fen AS amount_refunded, b.paid_at
  FROM inbox_bills i
  LEFT JOIN bills b ON i.state = 'imported' AND b.source_client = i.app_id AND b.bill_no = i.bill_no
 WHERE i.app_id = SUBSTRING_INDEX(USER(), '@', 1);
