-- CampusPay core schema (MySQL 8 / MariaDB 10.11+).
-- Money is BIGINT fen (分). Timestamps are UTC DATETIME(6).

CREATE TABLE departments (
  id          BIGINT AUTO_INCREMENT PRIMARY KEY,
  code        VARCHAR(32)  NOT NULL,
  name        VARCHAR(100) NOT NULL,
  created_at  DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_departments_code (code)
);

-- Everyone who signs in or pays: payers (students, staff, off-campus payers), department staff,
-- finance, leadership, administrators. roles is a comma-separated subset of payer,dept,finance,leader,admin.
CREATE TABLE users (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  login          VARCHAR(64)  NOT NULL,
  name           VARCHAR(100) NOT NULL,
  password_hash  VARCHAR(100) NOT NULL DEFAULT '',
  roles          VARCHAR(100) NOT NULL DEFAULT 'payer',
  department_id  BIGINT       NULL,
  payer_no       VARCHAR(32)  NULL,
  phone          VARCHAR(20)  NOT NULL DEFAULT '',
  unit           VARCHAR(100) NOT NULL DEFAULT '',
  class_name     VARCHAR(100) NOT NULL DEFAULT '',
  status         VARCHAR(16)  NOT NULL DEFAULT 'active',
  disabled       BOOLEAN      NOT NULL DEFAULT FALSE,
  created_at     DATETIME(6)  NOT NULL,
  updated_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_users_login (login),
  UNIQUE KEY uq_users_payer_no (payer_no),
  CONSTRAINT fk_users_department FOREIGN KEY (department_id) REFERENCES departments (id)
);

CREATE TABLE charge_items (
  id                BIGINT AUTO_INCREMENT PRIMARY KEY,
  code              VARCHAR(32)  NOT NULL,
  name              VARCHAR(100) NOT NULL,
  department_id     BIGINT       NOT NULL,
  category          VARCHAR(32)  NOT NULL,
  audience          VARCHAR(16)  NOT NULL,             -- internal | external | both
  pricing           VARCHAR(16)  NOT NULL,             -- fixed | per_bill | payer_entered
  price_fen         BIGINT       NOT NULL DEFAULT 0,   -- the amount of a fixed-price item
  min_fen           BIGINT       NOT NULL DEFAULT 0,   -- bounds of a payer-entered amount
  max_fen           BIGINT       NOT NULL DEFAULT 0,
  opens_at          DATETIME(6)  NULL,
  closes_at         DATETIME(6)  NULL,
  partial_allowed   BOOLEAN      NOT NULL DEFAULT FALSE,
  refundable_until  DATETIME(6)  NULL,
  status            VARCHAR(16)  NOT NULL DEFAULT 'draft',
  description       VARCHAR(1000) NOT NULL DEFAULT '',
  created_by        BIGINT       NULL,
  created_at        DATETIME(6)  NOT NULL,
  updated_at        DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_charge_items_code (code),
  KEY ix_charge_items_department (department_id),
  CONSTRAINT fk_charge_items_department FOREIGN KEY (department_id) REFERENCES departments (id)
);

-- One payer's payable under one item. status is derived from the amounts (and cancelled);
-- it is stored so that lists can filter on it. (source_client, bill_no) is the idempotency key:
-- source_client is a client's app id, or '' for bills made inside the school.
CREATE TABLE bills (
  id                   BIGINT AUTO_INCREMENT PRIMARY KEY,
  bill_no              VARCHAR(64)  NOT NULL,
  source               VARCHAR(16)  NOT NULL,          -- console | import | api | soap | inbox | cashier | demo
  source_client        VARCHAR(64)  NOT NULL DEFAULT '',
  item_id              BIGINT       NOT NULL,
  payer_id             BIGINT       NULL,
  payer_type           VARCHAR(16)  NOT NULL,          -- internal | external
  payer_name           VARCHAR(100) NOT NULL,
  payer_phone          VARCHAR(20)  NOT NULL DEFAULT '',
  amount_due_fen       BIGINT       NOT NULL,
  amount_paid_fen      BIGINT       NOT NULL DEFAULT 0,
  amount_refunded_fen  BIGINT       NOT NULL DEFAULT 0,
  status               VARCHAR(16)  NOT NULL DEFAULT 'unpaid',
  description          VARCHAR(200) NOT NULL DEFAULT '',
  due_date             DATE         NULL,
  metadata             TEXT         NULL,
  held_by_order_id     BIGINT       NULL,              -- the order currently paying this bill
  held_until           DATETIME(6)  NULL,              -- that order's expiry: after it the hold is void
  paid_at              DATETIME(6)  NULL,
  version              BIGINT       NOT NULL DEFAULT 0,
  created_at           DATETIME(6)  NOT NULL,
  updated_at           DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_bills_source_no (source_client, bill_no),
  KEY ix_bills_payer_status (payer_id, status),
  KEY ix_bills_item_status (item_id, status),
  CONSTRAINT fk_bills_item FOREIGN KEY (item_id) REFERENCES charge_items (id),
  CONSTRAINT fk_bills_payer FOREIGN KEY (payer_id) REFERENCES users (id)
);

CREATE TABLE orders (
  id                BIGINT AUTO_INCREMENT PRIMARY KEY,
  order_no          VARCHAR(32)  NOT NULL,
  payer_id          BIGINT       NULL,
  payer_name        VARCHAR(100) NOT NULL,
  payer_phone       VARCHAR(20)  NOT NULL DEFAULT '',
  channel           VARCHAR(16)  NOT NULL,
  total_fen         BIGINT       NOT NULL,
  status            VARCHAR(16)  NOT NULL DEFAULT 'open',   -- open -> paid | closed; closed -> paid (late payment)
  pay_url           VARCHAR(500) NOT NULL DEFAULT '',       -- what the channel gave: QR content or redirect URL
  expires_at        DATETIME(6)  NOT NULL,
  paid_at           DATETIME(6)  NULL,
  closed_at         DATETIME(6)  NULL,
  last_queried_at   DATETIME(6)  NULL,
  created_at        DATETIME(6)  NOT NULL,
  updated_at        DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_orders_order_no (order_no),
  KEY ix_orders_payer (payer_id, status),
  KEY ix_orders_status_expires (status, expires_at)
);

CREATE TABLE order_lines (
  id          BIGINT AUTO_INCREMENT PRIMARY KEY,
  order_id    BIGINT NOT NULL,
  bill_id     BIGINT NOT NULL,
  amount_fen  BIGINT NOT NULL,
  UNIQUE KEY uq_order_lines_order_bill (order_id, bill_id),
  KEY ix_order_lines_bill (bill_id),
  CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_order_lines_bill FOREIGN KEY (bill_id) REFERENCES bills (id)
);

-- A channel's record that an order was paid. (channel, trade_no) unique: a notification
-- that arrives twice inserts nothing the second time.
CREATE TABLE payments (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  order_id      BIGINT       NOT NULL,
  channel       VARCHAR(16)  NOT NULL,
  trade_no      VARCHAR(64)  NOT NULL,
  amount_fen    BIGINT       NOT NULL,
  credited_fen  BIGINT       NOT NULL DEFAULT 0,   -- what went to bills; amount - credited is overpaid
  late          BOOLEAN      NOT NULL DEFAULT FALSE,
  paid_at       DATETIME(6)  NOT NULL,
  raw           TEXT         NULL,
  created_at    DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_payments_channel_trade (channel, trade_no),
  KEY ix_payments_order (order_id),
  KEY ix_payments_paid_at (paid_at),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id)
);

-- Money received that no bill could take (paid after the bill was settled by another order):
-- kept for finance to refund.
CREATE TABLE overpayments (
  id           BIGINT AUTO_INCREMENT PRIMARY KEY,
  payment_id   BIGINT       NOT NULL,
  order_id     BIGINT       NOT NULL,
  bill_id      BIGINT       NULL,
  amount_fen   BIGINT       NOT NULL,
  status       VARCHAR(16)  NOT NULL DEFAULT 'open',   -- open | refunded
  created_at   DATETIME(6)  NOT NULL,
  KEY ix_overpayments_status (status),
  CONSTRAINT fk_overpayments_payment FOREIGN KEY (payment_id) REFERENCES payments (id)
);

-- Everything a channel sent us, kept raw whether or not it was believed.
CREATE TABLE notifications (
  id           BIGINT AUTO_INCREMENT PRIMARY KEY,
  channel      VARCHAR(16)  NOT NULL,
  order_no     VARCHAR(32)  NOT NULL DEFAULT '',
  headers      TEXT         NULL,
  body         MEDIUMTEXT   NULL,
  outcome      VARCHAR(16)  NOT NULL,   -- applied | duplicate | rejected
  error        VARCHAR(500) NOT NULL DEFAULT '',
  remote_addr  VARCHAR(64)  NOT NULL DEFAULT '',
  received_at  DATETIME(6)  NOT NULL,
  KEY ix_notifications_order (order_no)
);

-- Receipts are numbered per year without gaps: receipt_sequences holds the last number used,
-- taken in the same transaction as the receipt.
CREATE TABLE receipt_sequences (
  year     INT    NOT NULL PRIMARY KEY,
  last_no  BIGINT NOT NULL
);

CREATE TABLE receipts (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  receipt_no     VARCHAR(32)  NOT NULL,
  year           INT          NOT NULL,
  seq            BIGINT       NOT NULL,
  bill_id        BIGINT       NOT NULL,
  order_id       BIGINT       NOT NULL,
  payment_id     BIGINT       NOT NULL,
  payer_name     VARCHAR(100) NOT NULL,
  payer_no       VARCHAR(32)  NOT NULL DEFAULT '',
  item_name      VARCHAR(100) NOT NULL,
  department     VARCHAR(100) NOT NULL,
  amount_fen     BIGINT       NOT NULL,
  channel        VARCHAR(16)  NOT NULL,
  verify_token   VARCHAR(64)  NOT NULL,
  print_count    INT          NOT NULL DEFAULT 0,
  voided         BOOLEAN      NOT NULL DEFAULT FALSE,
  void_reason    VARCHAR(200) NOT NULL DEFAULT '',
  issued_at      DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_receipts_no (receipt_no),
  UNIQUE KEY uq_receipts_year_seq (year, seq),
  UNIQUE KEY uq_receipts_verify (verify_token),
  UNIQUE KEY uq_receipts_payment_bill (payment_id, bill_id),
  KEY ix_receipts_order (order_id)
);

-- The outbox: one row per callback to deliver to a business system, written in the
-- transaction of the change it reports.
CREATE TABLE events (
  id            BIGINT AUTO_INCREMENT PRIMARY KEY,
  event_id      VARCHAR(40)  NOT NULL,
  client        VARCHAR(64)  NOT NULL,
  type          VARCHAR(32)  NOT NULL,
  payload       MEDIUMTEXT   NOT NULL,
  status        VARCHAR(16)  NOT NULL DEFAULT 'pending',   -- pending | delivered | failed
  attempts      INT          NOT NULL DEFAULT 0,
  next_at       DATETIME(6)  NOT NULL,
  last_status   INT          NOT NULL DEFAULT 0,
  last_error    VARCHAR(500) NOT NULL DEFAULT '',
  created_at    DATETIME(6)  NOT NULL,
  delivered_at  DATETIME(6)  NULL,
  UNIQUE KEY uq_events_event_id (event_id),
  KEY ix_events_due (status, next_at)
);

CREATE TABLE settings (
  k           VARCHAR(64)   NOT NULL PRIMARY KEY,
  v           VARCHAR(2000) NOT NULL,
  updated_by  VARCHAR(64)   NOT NULL DEFAULT '',
  updated_at  DATETIME(6)   NOT NULL
);

CREATE TABLE audit_logs (
  id           BIGINT AUTO_INCREMENT PRIMARY KEY,
  at           DATETIME(6)  NOT NULL,
  actor        VARCHAR(64)  NOT NULL,    -- login name, or 'system', or 'channel:sandbox'
  action       VARCHAR(64)  NOT NULL,
  target_type  VARCHAR(32)  NOT NULL DEFAULT '',
  target_id    VARCHAR(64)  NOT NULL DEFAULT '',
  detail       VARCHAR(2000) NOT NULL DEFAULT '',
  ip           VARCHAR(64)  NOT NULL DEFAULT '',
  KEY ix_audit_logs_at (at),
  KEY ix_audit_logs_target (target_type, target_id)
);

-- Web sessions (fiber.Storage backed by the database, so several instances share them).
CREATE TABLE sessions (
  k           VARCHAR(128) NOT NULL PRIMARY KEY,
  v           BLOB         NOT NULL,
  expires_at  BIGINT       NOT NULL DEFAULT 0,      -- unix seconds, 0 = never
  KEY ix_sessions_expires (expires_at)
);

-- Failed sign-ins per key (login name or address) for throttling.
CREATE TABLE login_failures (
  k             VARCHAR(128) NOT NULL PRIMARY KEY,
  failures      INT          NOT NULL,
  window_start  DATETIME(6)  NOT NULL,
  locked_until  DATETIME(6)  NULL
);

-- Leases that make one instance the one that runs jobs.
CREATE TABLE job_leases (
  name        VARCHAR(64) NOT NULL PRIMARY KEY,
  owner       VARCHAR(64) NOT NULL,
  expires_at  DATETIME(6) NOT NULL
);
