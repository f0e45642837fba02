-- 收款商户: money is collected into a merchant (the whole school by default, a department,
-- or a sub-merchant of the school's service-provider account). A merchant has one account
-- per payment company: its keys and certificates, sealed, and the last error the company
-- gave, for finance to read on the merchant's page.
CREATE TABLE merchants (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  name           VARCHAR(100) NOT NULL,
  department_id  BIGINT       NULL,
  note           VARCHAR(500) NOT NULL DEFAULT '',
  created_at     DATETIME(6)  NOT NULL,
  updated_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_merchants_name (name)
);
INSERT INTO merchants (id, name, note, created_at, updated_at)
  VALUES (1, '学校统一第三方支付公司', '全校默认收款商户', NOW(6), NOW(6));

CREATE TABLE merchant_accounts (
  id             BIGINT AUTO_INCREMENT PRIMARY KEY,
  merchant_id    BIGINT       NOT NULL,
  channel        VARCHAR(16)  NOT NULL,
  enabled        BOOLEAN      NOT NULL DEFAULT FALSE,
  demo           BOOLEAN      NOT NULL DEFAULT FALSE,   -- points at an in-process fake (demo only)
  plain_values   TEXT         NOT NULL,                 -- JSON of the fields that are not secret
  sealed_values  TEXT         NOT NULL,                 -- the secret fields, JSON, sealed
  last_error     VARCHAR(500) NOT NULL DEFAULT '',
  last_error_at  DATETIME(6)  NULL,
  updated_by     VARCHAR(64)  NOT NULL DEFAULT '',
  created_at     DATETIME(6)  NOT NULL,
  updated_at     DATETIME(6)  NOT NULL,
  UNIQUE KEY uq_merchant_accounts (merchant_id, channel),
  CONSTRAINT fk_merchant_accounts_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
);

ALTER TABLE charge_items ADD COLUMN merchant_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE orders ADD COLUMN merchant_id BIGINT NOT NULL DEFAULT 1 AFTER channel;

-- An order is paid through one or more attempts (QR on a PC, then the phone; Alipay, then
-- the campus card), each with its own number at the channel: the first is numbered as the
-- order, later ones the order's number, "N" and their sequence.
CREATE TABLE payment_attempts (
  id           BIGINT AUTO_INCREMENT PRIMARY KEY,
  attempt_no   VARCHAR(32)  NOT NULL,
  order_id     BIGINT       NOT NULL,
  seq          INT          NOT NULL,
  channel      VARCHAR(16)  NOT NULL,
  merchant_id  BIGINT       NOT NULL,
  way          VARCHAR(16)  NOT NULL,
  amount_fen   BIGINT       NOT NULL,
  status       VARCHAR(16)  NOT NULL DEFAULT 'open',     -- open -> paid | closed
  trade_no     VARCHAR(64)  NOT NULL DEFAULT '',
  pay_url      TEXT         NOT NULL,
  created_at   DATETIME(6)  NOT NULL,
  updated_at   DATETIME(6)  NOT NULL,
  closed_at    DATETIME(6)  NULL,
  paid_at      DATETIME(6)  NULL,
  UNIQUE KEY uq_payment_attempts_no (attempt_no),
  UNIQUE KEY uq_payment_attempts_seq (order_id, seq),
  KEY ix_payment_attempts_status (status, created_at),
  CONSTRAINT fk_payment_attempts_order FOREIGN KEY (order_id) REFERENCES orders (id)
);

ALTER TABLE payments ADD COLUMN attempt_no VARCHAR(32) NOT NULL DEFAULT '' AFTER order_id;
-- Notifications now arrive per merchant: the door they came through.
ALTER TABLE notifications ADD COLUMN merchant_id BIGINT NULL;
-- A company's signed page address (Alipay's phone page carries its whole request and
-- signature) runs to 2 KB; 500 characters cut it.
ALTER TABLE orders MODIFY COLUMN pay_url VARCHAR(4096) NOT NULL DEFAULT '';
