-- CampusPay core schema (SQLite, the embedded default).
-- Money is INTEGER fen (分). Timestamps are UTC DATETIME.

CREATE TABLE departments (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  code        TEXT  NOT NULL,
  name        TEXT NOT NULL,
  created_at  DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_departments_code ON departments (code);

-- Everyone who signs in or pays: payers (students, staff, off-campus payers), department staff,
-- finance, leadership, administrators. roles is a comma-separated subset of payer,dept,finance,leader,admin.
CREATE TABLE users (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  login          TEXT  NOT NULL,
  name           TEXT NOT NULL,
  password_hash  TEXT NOT NULL DEFAULT '',
  roles          TEXT NOT NULL DEFAULT 'payer',
  department_id  INTEGER       NULL,
  payer_no       TEXT  NULL,
  phone          TEXT  NOT NULL DEFAULT '',
  unit           TEXT NOT NULL DEFAULT '',
  class_name     TEXT NOT NULL DEFAULT '',
  status         TEXT  NOT NULL DEFAULT 'active',
  disabled       BOOLEAN      NOT NULL DEFAULT 0,
  created_at     DATETIME  NOT NULL,
  updated_at     DATETIME  NOT NULL,
  FOREIGN KEY (department_id) REFERENCES departments (id)
);
CREATE UNIQUE INDEX uq_users_login ON users (login);
CREATE UNIQUE INDEX uq_users_payer_no ON users (payer_no);

CREATE TABLE charge_items (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  code              TEXT  NOT NULL,
  name              TEXT NOT NULL,
  department_id     INTEGER       NOT NULL,
  category          TEXT  NOT NULL,
  audience          TEXT  NOT NULL,             -- internal | external | both
  pricing           TEXT  NOT NULL,             -- fixed | per_bill | payer_entered
  price_fen         INTEGER       NOT NULL DEFAULT 0,   -- the amount of a fixed-price item
  min_fen           INTEGER       NOT NULL DEFAULT 0,   -- bounds of a payer-entered amount
  max_fen           INTEGER       NOT NULL DEFAULT 0,
  opens_at          DATETIME  NULL,
  closes_at         DATETIME  NULL,
  partial_allowed   BOOLEAN      NOT NULL DEFAULT 0,
  refundable_until  DATETIME  NULL,
  status            TEXT  NOT NULL DEFAULT 'draft',
  description       TEXT NOT NULL DEFAULT '',
  created_by        INTEGER       NULL,
  created_at        DATETIME  NOT NULL,
  updated_at        DATETIME  NOT NULL,
  FOREIGN KEY (department_id) REFERENCES departments (id)
);
CREATE UNIQUE INDEX uq_charge_items_code ON charge_items (code);
CREATE INDEX ix_charge_items_department ON charge_items (department_id);

-- One payer's payable under one item. status is derived from the amounts (and cancelled);
-- it is stored so that lists can filter on it. (source_client, bill_no) is the idempotency key:
-- source_client is a client's app id, or '' for bills made inside the school.
CREATE TABLE bills (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  bill_no              TEXT  NOT NULL,
  source               TEXT  NOT NULL,          -- console | import | api | soap | inbox | cashier | demo
  source_client        TEXT  NOT NULL DEFAULT '',
  item_id              INTEGER       NOT NULL,
  payer_id             INTEGER       NULL,
  payer_type           TEXT  NOT NULL,          -- internal | external
  payer_name           TEXT NOT NULL,
  payer_phone          TEXT  NOT NULL DEFAULT '',
  amount_due_fen       INTEGER       NOT NULL,
  amount_paid_fen      INTEGER       NOT NULL DEFAULT 0,
  amount_refunded_fen  INTEGER       NOT NULL DEFAULT 0,
  status               TEXT  NOT NULL DEFAULT 'unpaid',
  description          TEXT NOT NULL DEFAULT '',
  due_date             DATE         NULL,
  metadata             TEXT         NULL,
  held_by_order_id     INTEGER       NULL,              -- the order currently paying this bill
  held_until           DATETIME  NULL,              -- that order's expiry: after it the hold is void
  paid_at              DATETIME  NULL,
  version              INTEGER       NOT NULL DEFAULT 0,
  created_at           DATETIME  NOT NULL,
  updated_at           DATETIME  NOT NULL,
  FOREIGN KEY (item_id) REFERENCES charge_items (id),
  FOREIGN KEY (payer_id) REFERENCES users (id)
);
CREATE UNIQUE INDEX uq_bills_source_no ON bills (source_client, bill_no);
CREATE INDEX ix_bills_payer_status ON bills (payer_id, status);
CREATE INDEX ix_bills_item_status ON bills (item_id, status);

CREATE TABLE orders (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  order_no          TEXT  NOT NULL,
  payer_id          INTEGER       NULL,
  payer_name        TEXT NOT NULL,
  payer_phone       TEXT  NOT NULL DEFAULT '',
  channel           TEXT  NOT NULL,
  total_fen         INTEGER       NOT NULL,
  status            TEXT  NOT NULL DEFAULT 'open',   -- open -> paid | closed; closed -> paid (late payment)
  pay_url           TEXT NOT NULL DEFAULT '',       -- what the channel gave: QR content or redirect URL
  expires_at        DATETIME  NOT NULL,
  paid_at           DATETIME  NULL,
  closed_at         DATETIME  NULL,
  last_queried_at   DATETIME  NULL,
  created_at        DATETIME  NOT NULL,
  updated_at        DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_orders_order_no ON orders (order_no);
CREATE INDEX ix_orders_payer ON orders (payer_id, status);
CREATE INDEX ix_orders_status_expires ON orders (status, expires_at);

CREATE TABLE order_lines (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id    INTEGER NOT NULL,
  bill_id     INTEGER NOT NULL,
  amount_fen  INTEGER NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders (id),
  FOREIGN KEY (bill_id) REFERENCES bills (id)
);
CREATE UNIQUE INDEX uq_order_lines_order_bill ON order_lines (order_id, bill_id);
CREATE INDEX ix_order_lines_bill ON order_lines (bill_id);

-- A channel's record that an order was paid. (channel, trade_no) unique: a notification
-- that arrives twice inserts nothing the second time.
CREATE TABLE payments (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id      INTEGER       NOT NULL,
  channel       TEXT  NOT NULL,
  trade_no      TEXT  NOT NULL,
  amount_fen    INTEGER       NOT NULL,
  credited_fen  INTEGER       NOT NULL DEFAULT 0,   -- what went to bills; amount - credited is overpaid
  late          BOOLEAN      NOT NULL DEFAULT 0,
  paid_at       DATETIME  NOT NULL,
  raw           TEXT         NULL,
  created_at    DATETIME  NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders (id)
);
CREATE UNIQUE INDEX uq_payments_channel_trade ON payments (channel, trade_no);
CREATE INDEX ix_payments_order ON payments (order_id);
CREATE INDEX ix_payments_paid_at ON payments (paid_at);

-- Money received that no bill could take (paid after the bill was settled by another order):
-- kept for finance to refund.
CREATE TABLE overpayments (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id   INTEGER       NOT NULL,
  order_id     INTEGER       NOT NULL,
  bill_id      INTEGER       NULL,
  amount_fen   INTEGER       NOT NULL,
  status       TEXT  NOT NULL DEFAULT 'open',   -- open | refunded
  created_at   DATETIME  NOT NULL,
  FOREIGN KEY (payment_id) REFERENCES payments (id)
);
CREATE INDEX ix_overpayments_status ON overpayments (status);

-- Everything a channel sent us, kept raw whether or not it was believed.
CREATE TABLE notifications (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  channel      TEXT  NOT NULL,
  order_no     TEXT  NOT NULL DEFAULT '',
  headers      TEXT         NULL,
  body         TEXT   NULL,
  outcome      TEXT  NOT NULL,   -- applied | duplicate | rejected
  error        TEXT NOT NULL DEFAULT '',
  remote_addr  TEXT  NOT NULL DEFAULT '',
  received_at  DATETIME  NOT NULL
);
CREATE INDEX ix_notifications_order ON notifications (order_no);

-- Receipts are numbered per year without gaps: receipt_sequences holds the last number used,
-- taken in the same transaction as the receipt.
CREATE TABLE receipt_sequences (
  year     INTEGER    NOT NULL PRIMARY KEY,
  last_no  INTEGER NOT NULL
);

CREATE TABLE receipts (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  receipt_no     TEXT  NOT NULL,
  year           INTEGER          NOT NULL,
  seq            INTEGER       NOT NULL,
  bill_id        INTEGER       NOT NULL,
  order_id       INTEGER       NOT NULL,
  payment_id     INTEGER       NOT NULL,
  payer_name     TEXT NOT NULL,
  payer_no       TEXT  NOT NULL DEFAULT '',
  item_name      TEXT NOT NULL,
  department     TEXT NOT NULL,
  amount_fen     INTEGER       NOT NULL,
  channel        TEXT  NOT NULL,
  verify_token   TEXT  NOT NULL,
  print_count    INTEGER          NOT NULL DEFAULT 0,
  voided         BOOLEAN      NOT NULL DEFAULT 0,
  void_reason    TEXT NOT NULL DEFAULT '',
  issued_at      DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_receipts_no ON receipts (receipt_no);
CREATE UNIQUE INDEX uq_receipts_year_seq ON receipts (year, seq);
CREATE UNIQUE INDEX uq_receipts_verify ON receipts (verify_token);
CREATE UNIQUE INDEX uq_receipts_payment_bill ON receipts (payment_id, bill_id);
CREATE INDEX ix_receipts_order ON receipts (order_id);

-- The outbox: one row per callback to deliver to a business system, written in the
-- transaction of the change it reports.
CREATE TABLE events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id      TEXT  NOT NULL,
  client        TEXT  NOT NULL,
  type          TEXT  NOT NULL,
  payload       TEXT   NOT NULL,
  status        TEXT  NOT NULL DEFAULT 'pending',   -- pending | delivered | failed
  attempts      INTEGER          NOT NULL DEFAULT 0,
  next_at       DATETIME  NOT NULL,
  last_status   INTEGER          NOT NULL DEFAULT 0,
  last_error    TEXT NOT NULL DEFAULT '',
  created_at    DATETIME  NOT NULL,
  delivered_at  DATETIME  NULL
);
CREATE UNIQUE INDEX uq_events_event_id ON events (event_id);
CREATE INDEX ix_events_due ON events (status, next_at);

CREATE TABLE settings (
  k           TEXT   NOT NULL PRIMARY KEY,
  v           TEXT NOT NULL,
  updated_by  TEXT   NOT NULL DEFAULT '',
  updated_at  DATETIME   NOT NULL
);

CREATE TABLE audit_logs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  at           DATETIME  NOT NULL,
  actor        TEXT  NOT NULL,    -- login name, or 'system', or 'channel:sandbox'
  action       TEXT  NOT NULL,
  target_type  TEXT  NOT NULL DEFAULT '',
  target_id    TEXT  NOT NULL DEFAULT '',
  detail       TEXT NOT NULL DEFAULT '',
  ip           TEXT  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_logs_at ON audit_logs (at);
CREATE INDEX ix_audit_logs_target ON audit_logs (target_type, target_id);

-- Web sessions (fiber.Storage backed by the database, so several instances share them).
CREATE TABLE sessions (
  k           TEXT NOT NULL PRIMARY KEY,
  v           BLOB         NOT NULL,
  expires_at  INTEGER       NOT NULL DEFAULT 0   -- unix seconds, 0 = never
);
CREATE INDEX ix_sessions_expires ON sessions (expires_at);

-- Failed sign-ins per key (login name or address) for throttling.
CREATE TABLE login_failures (
  k             TEXT NOT NULL PRIMARY KEY,
  failures      INTEGER          NOT NULL,
  window_start  DATETIME  NOT NULL,
  locked_until  DATETIME  NULL
);

-- Leases that make one instance the one that runs jobs.
CREATE TABLE job_leases (
  name        TEXT NOT NULL PRIMARY KEY,
  owner       TEXT NOT NULL,
  expires_at  DATETIME NOT NULL
);

