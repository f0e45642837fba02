-- Search and statistics: the daily collection snapshot the dashboards read, and the
-- indexes the searches and dashboards need.
--
-- "Collected" is money received net of overpayments: for each payment, what it credited to
-- each bill of its order (payments.credited_fen split by order line). stats_daily holds, for
-- each closed Asia/Shanghai business day, that money grouped by department, item and channel;
-- a job fills it (and refills the last few days, so that late notifications and repaired
-- payments land). Today, and any day without a snapshot, is computed live from payments.

CREATE TABLE stats_daily (
  day            DATE         NOT NULL,   -- business day in Asia/Shanghai
  department_id  INTEGER      NOT NULL,
  item_id        INTEGER      NOT NULL,
  channel        TEXT         NOT NULL,
  line_count     INTEGER      NOT NULL,   -- bills credited (one per bill per payment)
  collected_fen  INTEGER      NOT NULL,   -- money credited to bills
  overpaid_fen   INTEGER      NOT NULL,   -- money received that no bill took
  PRIMARY KEY (day, department_id, item_id, channel)
);

-- One row per day that stats_daily holds: a day without a row here is computed live.
CREATE TABLE stats_days (
  day          DATE         NOT NULL PRIMARY KEY,
  computed_at  DATETIME     NOT NULL
);

-- Payments by time with their credited amount: the live part of the dashboards and the
-- payment search read only the index.
CREATE INDEX ix_payments_paid_credited ON payments (paid_at, credited_fen, channel);

-- Outstanding and progress per item read only these indexes.
CREATE INDEX ix_bills_status_item_amounts ON bills (status, item_id, amount_due_fen, amount_paid_fen);
CREATE INDEX ix_bills_item_amounts ON bills (item_id, status, amount_due_fen, amount_paid_fen, amount_refunded_fen);

-- Bill and order searches, newest first.
CREATE INDEX ix_bills_created ON bills (created_at);
CREATE INDEX ix_orders_created ON orders (created_at);
