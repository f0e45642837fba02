-- 收款商户: money is collected into a merchant (the whole school by default, a department,
-- or a sub-merchant of the school's service-provider account). A merchant has one account
-- per payment company: its keys and certificates, sealed, and the last error the company
-- gave, for finance to read on the merchant's page.
CREATE TABLE merchants (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  name           TEXT     NOT NULL,
  department_id  INTEGER  NULL,
  note           TEXT     NOT NULL DEFAULT '',
  created_at     DATETIME NOT NULL,
  updated_at     DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_merchants_name ON merchants (name);
INSERT INTO merchants (id, name, note, created_at, updated_at)
  VALUES (1, '学校统一第三方支付公司', '全校默认收款商户', strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'));

CREATE TABLE merchant_accounts (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  merchant_id    INTEGER  NOT NULL REFERENCES merchants (id),
  channel        TEXT     NOT NULL,
  enabled        BOOLEAN  NOT NULL DEFAULT FALSE,
  demo           BOOLEAN  NOT NULL DEFAULT FALSE,   -- points at an in-process fake (demo only)
  plain_values   TEXT     NOT NULL,                 -- JSON of the fields that are not secret
  sealed_values  TEXT     NOT NULL,                 -- the secret fields, JSON, sealed
  last_error     TEXT     NOT NULL DEFAULT '',
  last_error_at  DATETIME NULL,
  updated_by     TEXT     NOT NULL DEFAULT '',
  created_at     DATETIME NOT NULL,
  updated_at     DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_merchant_accounts ON merchant_accounts (merchant_id, channel);

ALTER TABLE charge_items ADD COLUMN merchant_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE orders ADD COLUMN merchant_id INTEGER NOT NULL DEFAULT 1;

-- An order is paid through one or more attempts (QR on a PC, then the phone; Alipay, then
-- the campus card), each with its own number at the channel: the first is numbered as the
-- order, later ones the order's number, "N" and their sequence.
CREATE TABLE payment_attempts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  attempt_no   TEXT     NOT NULL,
  order_id     INTEGER  NOT NULL REFERENCES orders (id),
  seq          INTEGER  NOT NULL,
  channel      TEXT     NOT NULL,
  merchant_id  INTEGER  NOT NULL,
  way          TEXT     NOT NULL,
  amount_fen   INTEGER  NOT NULL,
  status       TEXT     NOT NULL DEFAULT 'open',     -- open -> paid | closed
  trade_no     TEXT     NOT NULL DEFAULT '',
  pay_url      TEXT     NOT NULL DEFAULT '',
  created_at   DATETIME NOT NULL,
  updated_at   DATETIME NOT NULL,
  closed_at    DATETIME NULL,
  paid_at      DATETIME NULL
);
CREATE UNIQUE INDEX uq_payment_attempts_no ON payment_attempts (attempt_no);
CREATE UNIQUE INDEX uq_payment_attempts_seq ON payment_attempts (order_id, seq);
CREATE INDEX ix_payment_attempts_status ON payment_attempts (status, created_at);

ALTER TABLE payments ADD COLUMN attempt_no TEXT NOT NULL DEFAULT '';
-- Notifications now arrive per merchant: the door they came through.
ALTER TABLE notifications ADD COLUMN merchant_id INTEGER NULL;
