-- Refunds (退款): asked for in the console (or by a business system through the API), approved
-- or rejected by finance (never by the person who asked), then executed through the channel
-- that took the money. status: pending -> approved -> processing -> succeeded | failed, or
-- pending -> rejected. A refund returns money from one payment: of one bill (bill_id set), or an
-- overpayment no bill could take (bill_id NULL, overpayment_id set).
CREATE TABLE refunds (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  refund_no          TEXT      NOT NULL,              -- R + Shanghai time + random: every channel accepts it
  bill_id            INTEGER   NULL,
  order_id           INTEGER   NOT NULL,
  payment_id         INTEGER   NOT NULL,
  overpayment_id     INTEGER   NULL,
  amount_fen         INTEGER   NOT NULL,
  reason             TEXT      NOT NULL,
  status             TEXT      NOT NULL DEFAULT 'pending',
  requested_by       TEXT      NOT NULL,              -- login name, or the client's app id
  requested_at       DATETIME  NOT NULL,
  decided_by         TEXT      NOT NULL DEFAULT '',
  decided_at         DATETIME  NULL,
  decision_note      TEXT      NOT NULL DEFAULT '',
  channel            TEXT      NOT NULL,
  channel_refund_no  TEXT      NOT NULL DEFAULT '',
  channel_message    TEXT      NOT NULL DEFAULT '',
  source             TEXT      NOT NULL DEFAULT 'console',   -- console | api
  source_client      TEXT      NOT NULL DEFAULT '',          -- the client's app id; '' for the console
  client_refund_no   TEXT      NOT NULL,                     -- the client's refund number; refund_no for the console
  created_at         DATETIME  NOT NULL,
  updated_at         DATETIME  NOT NULL,
  finished_at        DATETIME  NULL,
  FOREIGN KEY (bill_id) REFERENCES bills (id),
  FOREIGN KEY (order_id) REFERENCES orders (id),
  FOREIGN KEY (payment_id) REFERENCES payments (id),
  FOREIGN KEY (overpayment_id) REFERENCES overpayments (id)
);
CREATE UNIQUE INDEX uq_refunds_refund_no ON refunds (refund_no);
CREATE UNIQUE INDEX uq_refunds_client_no ON refunds (source_client, client_refund_no);
CREATE INDEX ix_refunds_status ON refunds (status);
CREATE INDEX ix_refunds_bill ON refunds (bill_id);
CREATE INDEX ix_refunds_payment ON refunds (payment_id);
CREATE INDEX ix_refunds_overpayment ON refunds (overpayment_id);

-- A partial refund voids the receipt of a bill and a payment and issues a new one for what is
-- left, naming the receipt it replaces. One live original per payment and bill still holds:
-- the unique key now includes replaces_no ('' for an original receipt).
ALTER TABLE receipts ADD COLUMN replaces_no TEXT NOT NULL DEFAULT '';
DROP INDEX uq_receipts_payment_bill;
CREATE UNIQUE INDEX uq_receipts_payment_bill ON receipts (payment_id, bill_id, replaces_no);
-- Receipts are listed and printed by day.
CREATE INDEX ix_receipts_issued ON receipts (issued_at);
CREATE INDEX ix_receipts_bill ON receipts (bill_id);
