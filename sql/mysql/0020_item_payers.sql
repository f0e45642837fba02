-- Distinct payers per charge item, maintained as bills change (issue 13, item 2).
--
-- Item progress shows how many distinct payers an item's bills name (roster payers by id,
-- off-campus payers by phone; cancelled bills left out). Counting them afresh reads every
-- bill of the item: about a second for a 1,000,000-bill item. item_payers holds, per item
-- and payer, how many of the item's bills name that payer; when that count leaves or
-- reaches zero, a trigger appends a payer delta to item_deltas, which the fold job adds
-- into item_totals like the money (0017_item_totals.sql).
--
-- A payment changes a bill's amounts and status, never its item, its payer or whether it
-- is cancelled, so the triggers below do nothing inside a payment transaction: item_payers
-- rows are written when bills are made, cancelled, deleted or moved, and only the rows of
-- the payers concerned.

CREATE TABLE item_payers (
  item_id    BIGINT      NOT NULL,
  payer_key  VARCHAR(32) NOT NULL,   -- 'u' and the payer's user id, or 'p' and an off-campus payer's phone
  bills      BIGINT      NOT NULL,
  PRIMARY KEY (item_id, payer_key)
);

ALTER TABLE item_totals ADD COLUMN internal_payers BIGINT NOT NULL DEFAULT 0, ADD COLUMN external_payers BIGINT NOT NULL DEFAULT 0;

ALTER TABLE item_deltas ADD COLUMN internal_payers BIGINT NOT NULL DEFAULT 0, ADD COLUMN external_payers BIGINT NOT NULL DEFAULT 0;

INSERT INTO item_payers (item_id, payer_key, bills)
SELECT item_id, IF(payer_id IS NULL, CONCAT('p', payer_phone), CONCAT('u', payer_id)), COUNT(*)
FROM bills WHERE status <> 'cancelled' GROUP BY 1, 2;

INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
SELECT item_id, 0, 0, 0, 0, 0, 0, 0, SUM(LEFT(payer_key, 1) = 'u'), SUM(LEFT(payer_key, 1) = 'p')
FROM item_payers GROUP BY item_id;

-- item_payers' count crossing zero is a payer more or less for the item.
CREATE TRIGGER tr_item_payers_insert AFTER INSERT ON item_payers FOR EACH ROW
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
SELECT NEW.item_id, 0, 0, 0, 0, 0, 0, 0, IF(LEFT(NEW.payer_key, 1) = 'u', 1, 0), IF(LEFT(NEW.payer_key, 1) = 'p', 1, 0)
FROM DUAL WHERE NEW.bills > 0;

CREATE TRIGGER tr_item_payers_update AFTER UPDATE ON item_payers FOR EACH ROW
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
SELECT NEW.item_id, 0, 0, 0, 0, 0, 0, 0,
       IF(LEFT(NEW.payer_key, 1) = 'u', (NEW.bills > 0) - (OLD.bills > 0), 0),
       IF(LEFT(NEW.payer_key, 1) = 'p', (NEW.bills > 0) - (OLD.bills > 0), 0)
FROM DUAL WHERE (NEW.bills > 0) <> (OLD.bills > 0);

-- A bill counts for its item's payer while it is not cancelled.
CREATE TRIGGER tr_bills_payers_insert AFTER INSERT ON bills FOR EACH ROW
INSERT INTO item_payers (item_id, payer_key, bills)
SELECT NEW.item_id, IF(NEW.payer_id IS NULL, CONCAT('p', NEW.payer_phone), CONCAT('u', NEW.payer_id)), 1
FROM DUAL WHERE NEW.status <> 'cancelled'
ON DUPLICATE KEY UPDATE bills = bills + 1;

CREATE TRIGGER tr_bills_payers_delete AFTER DELETE ON bills FOR EACH ROW
UPDATE item_payers SET bills = bills - 1
WHERE OLD.status <> 'cancelled' AND item_id = OLD.item_id
  AND payer_key = IF(OLD.payer_id IS NULL, CONCAT('p', OLD.payer_phone), CONCAT('u', OLD.payer_id));

-- An update that moves a bill to another item or payer, or cancels or restores it: the
-- old count less one, the new one more (two triggers, as each is one statement).
CREATE TRIGGER tr_bills_payers_update_old AFTER UPDATE ON bills FOR EACH ROW
UPDATE item_payers SET bills = bills - 1
WHERE OLD.status <> 'cancelled'
  AND (NEW.item_id <> OLD.item_id OR NOT (NEW.payer_id <=> OLD.payer_id) OR NEW.payer_phone <> OLD.payer_phone OR NEW.status = 'cancelled')
  AND item_id = OLD.item_id
  AND payer_key = IF(OLD.payer_id IS NULL, CONCAT('p', OLD.payer_phone), CONCAT('u', OLD.payer_id));

CREATE TRIGGER tr_bills_payers_update_new AFTER UPDATE ON bills FOR EACH ROW
INSERT INTO item_payers (item_id, payer_key, bills)
SELECT NEW.item_id, IF(NEW.payer_id IS NULL, CONCAT('p', NEW.payer_phone), CONCAT('u', NEW.payer_id)), 1
FROM DUAL WHERE NEW.status <> 'cancelled'
  AND (NEW.item_id <> OLD.item_id OR NOT (NEW.payer_id <=> OLD.payer_id) OR NEW.payer_phone <> OLD.payer_phone OR OLD.status = 'cancelled')
ON DUPLICATE KEY UPDATE bills = bills + 1;
