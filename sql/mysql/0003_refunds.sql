-- Refunds (退款): asked for in the console (or by a business system through the API), approved
-- or rejected by finance (never by the person who asked), then executed through the channel
-- that took the money. status: pending -> approved -> processing -> succeeded | failed, or
-- pending -> rejected. A refund returns money from one payment: of one bill (bill_id set), or an
-- overpayment no bill could take (bill_id NULL, overpayment_id set).
CREATE TABLE refunds (
  id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
  refund_no          VARCHAR(32)   NOT NULL,              -- R + Shanghai time + random: every channel accepts it
  bill_id            BIGINT        NULL,
  order_id           BIGINT        NOT NULL,
  payment_id         BIGINT        NOT NULL,
  overpayment_id     BIGINT        NULL,
  amount_fen         BIGINT        NOT NULL,
  reason             VARCHAR(200)  NOT NULL,
  status             VARCHAR(16)   NOT NULL DEFAULT 'pending',
  requested_by       VARCHAR(64)   NOT NULL,              -- login name, or the client's app id
  requested_at       DATETIME(6)   NOT NULL,
  decided_by         VARCHAR(64)   NOT NULL DEFAULT '',
  decided_at         DATETIME(6)   NULL,
  decision_note      VARCHAR(200)  NOT NULL DEFAULT '',
  channel            VARCHAR(16)   NOT NULL,
  channel_refund_no  VARCHAR(64)   NOT NULL DEFAULT '',
  channel_message    VARCHAR(500)  NOT NULL DEFAULT '',
  source             VARCHAR(16)   NOT NULL DEFAULT 'console',   -- console | api
  source_client      VARCHAR(64)   NOT NULL DEFAULT '',          -- the client's app id; '' for the console
  client_refund_no   VARCHAR(64)   NOT NULL,                     -- the client's refund number; refund_no for the console
  created_at         DATETIME(6)   NOT NULL,
  updated_at         DATETIME(6)   NOT NULL,
  finished_at        DATETIME(6)   NULL,
  UNIQUE KEY uq_refunds_refund_no (refund_no),
  UNIQUE KEY uq_refunds_client_no (source_client, client_refund_no),
  KEY ix_refunds_status (status),
  KEY ix_refunds_bill (bill_id),
  KEY ix_refunds_payment (payment_id),
  KEY ix_refunds_overpayment (overpayment_id),
  CONSTRAINT fk_refunds_bill FOREIGN KEY (bill_id) REFERENCES bills (id),
  CONSTRAINT fk_refunds_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_refunds_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
  CONSTRAINT fk_refunds_overpayment FOREIGN KEY (overpayment_id) REFERENCES overpayments (id)
);

-- A partial refund voids the receipt of a bill and a payment and issues a new one for what is
-- left, naming the receipt it replaces. One live original per payment and bill still holds:
-- the unique key now includes replaces_no ('' for an original receipt).
ALTER TABLE receipts ADD COLUMN replaces_no VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE receipts DROP INDEX uq_receipts_payment_bill;
ALTER TABLE receipts ADD UNIQUE KEY uq_receipts_payment_bill (payment_id, bill_id, replaces_no);
-- Receipts are listed and printed by day.
CREATE INDEX ix_receipts_issued ON receipts (issued_at);
CREATE INDEX ix_receipts_bill ON receipts (bill_id);
