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
-- is cancelled, so the triggers below do nothing inside a payment transaction.

CREATE TABLE item_payers (
  item_id    INTEGER NOT NULL,
  payer_key  TEXT    NOT NULL,   -- 'u' and the payer's user id, or 'p' and an off-campus payer's phone
  bills      INTEGER NOT NULL,
  PRIMARY KEY (item_id, payer_key)
);

ALTER TABLE item_totals ADD COLUMN internal_payers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE item_totals ADD COLUMN external_payers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE item_deltas ADD COLUMN internal_payers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE item_deltas ADD COLUMN external_payers INTEGER NOT NULL DEFAULT 0;

INSERT INTO item_payers (item_id, payer_key, bills)
SELECT item_id, CASE WHEN payer_id IS NULL THEN 'p' || payer_phone ELSE 'u' || payer_id END, COUNT(*)
FROM bills WHERE status <> 'cancelled' GROUP BY 1, 2;

INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
SELECT item_id, 0, 0, 0, 0, 0, 0, 0, SUM(substr(payer_key, 1, 1) = 'u'), SUM(substr(payer_key, 1, 1) = 'p')
FROM item_payers GROUP BY item_id;

-- item_payers' count crossing zero is a payer more or less for the item.
CREATE TRIGGER tr_item_payers_insert AFTER INSERT ON item_payers FOR EACH ROW WHEN NEW.bills > 0 BEGIN
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
VALUES (NEW.item_id, 0, 0, 0, 0, 0, 0, 0, substr(NEW.payer_key, 1, 1) = 'u', substr(NEW.payer_key, 1, 1) = 'p'); END;

CREATE TRIGGER tr_item_payers_update AFTER UPDATE ON item_payers FOR EACH ROW WHEN (NEW.bills > 0) <> (OLD.bills > 0) BEGIN
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
VALUES (NEW.item_id, 0, 0, 0, 0, 0, 0, 0,
        CASE WHEN substr(NEW.payer_key, 1, 1) = 'u' THEN (NEW.bills > 0) - (OLD.bills > 0) ELSE 0 END,
        CASE WHEN substr(NEW.payer_key, 1, 1) = 'p' THEN (NEW.bills > 0) - (OLD.bills > 0) ELSE 0 END); END;

-- A bill counts for its item's payer while it is not cancelled.
CREATE TRIGGER tr_bills_payers_insert AFTER INSERT ON bills FOR EACH ROW WHEN NEW.status <> 'cancelled' BEGIN
INSERT OR IGNORE INTO item_payers (item_id, payer_key, bills)
VALUES (NEW.item_id, CASE WHEN NEW.payer_id IS NULL THEN 'p' || NEW.payer_phone ELSE 'u' || NEW.payer_id END, 0); UPDATE item_payers SET bills = bills + 1
WHERE item_id = NEW.item_id AND payer_key = CASE WHEN NEW.payer_id IS NULL THEN 'p' || NEW.payer_phone ELSE 'u' || NEW.payer_id END; END;

CREATE TRIGGER tr_bills_payers_delete AFTER DELETE ON bills FOR EACH ROW WHEN OLD.status <> 'cancelled' BEGIN
UPDATE item_payers SET bills = bills - 1
WHERE item_id = OLD.item_id AND payer_key = CASE WHEN OLD.payer_id IS NULL THEN 'p' || OLD.payer_phone ELSE 'u' || OLD.payer_id END; END;

-- An update that moves a bill to another item or payer, or cancels or restores it: the
-- old count less one, the new one more.
CREATE TRIGGER tr_bills_payers_update AFTER UPDATE ON bills FOR EACH ROW
WHEN NEW.item_id <> OLD.item_id OR NEW.payer_id IS NOT OLD.payer_id OR NEW.payer_phone <> OLD.payer_phone
  OR (NEW.status = 'cancelled') <> (OLD.status = 'cancelled') BEGIN
UPDATE item_payers SET bills = bills - 1
WHERE OLD.status <> 'cancelled' AND item_id = OLD.item_id
  AND payer_key = CASE WHEN OLD.payer_id IS NULL THEN 'p' || OLD.payer_phone ELSE 'u' || OLD.payer_id END; INSERT OR IGNORE INTO item_payers (item_id, payer_key, bills)
SELECT NEW.item_id, CASE WHEN NEW.payer_id IS NULL THEN 'p' || NEW.payer_phone ELSE 'u' || NEW.payer_id END, 0 WHERE NEW.status <> 'cancelled'; UPDATE item_payers SET bills = bills + 1
WHERE NEW.status <> 'cancelled' AND item_id = NEW.item_id
  AND payer_key = CASE WHEN NEW.payer_id IS NULL THEN 'p' || NEW.payer_phone ELSE 'u' || NEW.payer_id END; END;
