-- The item-delta triggers of 0017 and 0020, rewritten as plain INSERT … VALUES (issue 13,
-- item 4: the term-start rush).
--
-- Those triggers appended their delta with INSERT … SELECT … FROM DUAL WHERE …, the bills
-- update trigger through a UNION ALL and a GROUP BY. InnoDB takes the table-level AUTO-INC
-- lock of item_deltas for the whole of an INSERT … SELECT (innodb_autoinc_lock_mode = 1,
-- MariaDB's default, treats it as a bulk insert whose row count is unknown), and here that
-- whole included a temporary table and its sort. Every payment credits its bills inside
-- such a statement, so the payments of the rush queued on one table lock: a sample of the
-- server during a 300-payer run found 22 transactions waiting about 20 ms each for
-- "lock mode AUTO-INC" on item_deltas, and the crediting UPDATE of bills was a fifth of
-- the server's statement time. An INSERT … VALUES is a simple insert: its ids come from a
-- short mutex and no table lock is held. What is appended is unchanged: a bill's
-- contribution after the change less the one before, per item, nothing for a cancelled
-- bill, nothing when the change touches none of the summed columns.
--
-- CREATE OR REPLACE swaps each trigger in one step, so no bill change goes without its
-- delta while another instance keeps serving during the upgrade.

CREATE OR REPLACE TRIGGER tr_bills_item_delta_insert AFTER INSERT ON bills FOR EACH ROW
BEGIN
  IF NEW.status <> 'cancelled' THEN
    INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
    VALUES (NEW.item_id, 1, NEW.amount_due_fen, NEW.amount_paid_fen, NEW.amount_refunded_fen,
            IF(NEW.status IN ('unpaid', 'partial'), NEW.amount_due_fen - NEW.amount_paid_fen, 0),
            IF(NEW.status IN ('unpaid', 'partial'), 1, 0), IF(NEW.status IN ('paid', 'refunded'), 1, 0));
  END IF;
END;

CREATE OR REPLACE TRIGGER tr_bills_item_delta_update AFTER UPDATE ON bills FOR EACH ROW
BEGIN
  IF NEW.item_id <> OLD.item_id OR NEW.status <> OLD.status OR NEW.amount_due_fen <> OLD.amount_due_fen
     OR NEW.amount_paid_fen <> OLD.amount_paid_fen OR NEW.amount_refunded_fen <> OLD.amount_refunded_fen THEN
    IF NEW.item_id = OLD.item_id THEN
      IF NEW.status <> 'cancelled' OR OLD.status <> 'cancelled' THEN
        INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
        VALUES (NEW.item_id,
                IF(NEW.status <> 'cancelled', 1, 0) - IF(OLD.status <> 'cancelled', 1, 0),
                IF(NEW.status <> 'cancelled', NEW.amount_due_fen, 0) - IF(OLD.status <> 'cancelled', OLD.amount_due_fen, 0),
                IF(NEW.status <> 'cancelled', NEW.amount_paid_fen, 0) - IF(OLD.status <> 'cancelled', OLD.amount_paid_fen, 0),
                IF(NEW.status <> 'cancelled', NEW.amount_refunded_fen, 0) - IF(OLD.status <> 'cancelled', OLD.amount_refunded_fen, 0),
                IF(NEW.status IN ('unpaid', 'partial'), NEW.amount_due_fen - NEW.amount_paid_fen, 0)
                  - IF(OLD.status IN ('unpaid', 'partial'), OLD.amount_due_fen - OLD.amount_paid_fen, 0),
                IF(NEW.status IN ('unpaid', 'partial'), 1, 0) - IF(OLD.status IN ('unpaid', 'partial'), 1, 0),
                IF(NEW.status IN ('paid', 'refunded'), 1, 0) - IF(OLD.status IN ('paid', 'refunded'), 1, 0));
      END IF;
    ELSE
      IF NEW.status <> 'cancelled' THEN
        INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
        VALUES (NEW.item_id, 1, NEW.amount_due_fen, NEW.amount_paid_fen, NEW.amount_refunded_fen,
                IF(NEW.status IN ('unpaid', 'partial'), NEW.amount_due_fen - NEW.amount_paid_fen, 0),
                IF(NEW.status IN ('unpaid', 'partial'), 1, 0), IF(NEW.status IN ('paid', 'refunded'), 1, 0));
      END IF;
      IF OLD.status <> 'cancelled' THEN
        INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
        VALUES (OLD.item_id, -1, -OLD.amount_due_fen, -OLD.amount_paid_fen, -OLD.amount_refunded_fen,
                -IF(OLD.status IN ('unpaid', 'partial'), OLD.amount_due_fen - OLD.amount_paid_fen, 0),
                -IF(OLD.status IN ('unpaid', 'partial'), 1, 0), -IF(OLD.status IN ('paid', 'refunded'), 1, 0));
      END IF;
    END IF;
  END IF;
END;

CREATE OR REPLACE TRIGGER tr_bills_item_delta_delete AFTER DELETE ON bills FOR EACH ROW
BEGIN
  IF OLD.status <> 'cancelled' THEN
    INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
    VALUES (OLD.item_id, -1, -OLD.amount_due_fen, -OLD.amount_paid_fen, -OLD.amount_refunded_fen,
            -IF(OLD.status IN ('unpaid', 'partial'), OLD.amount_due_fen - OLD.amount_paid_fen, 0),
            -IF(OLD.status IN ('unpaid', 'partial'), 1, 0), -IF(OLD.status IN ('paid', 'refunded'), 1, 0));
  END IF;
END;

CREATE OR REPLACE TRIGGER tr_item_payers_insert AFTER INSERT ON item_payers FOR EACH ROW
BEGIN
  IF NEW.bills > 0 THEN
    INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
    VALUES (NEW.item_id, 0, 0, 0, 0, 0, 0, 0, IF(LEFT(NEW.payer_key, 1) = 'u', 1, 0), IF(LEFT(NEW.payer_key, 1) = 'p', 1, 0));
  END IF;
END;

CREATE OR REPLACE TRIGGER tr_item_payers_update AFTER UPDATE ON item_payers FOR EACH ROW
BEGIN
  IF (NEW.bills > 0) <> (OLD.bills > 0) THEN
    INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers)
    VALUES (NEW.item_id, 0, 0, 0, 0, 0, 0, 0,
            IF(LEFT(NEW.payer_key, 1) = 'u', (NEW.bills > 0) - (OLD.bills > 0), 0),
            IF(LEFT(NEW.payer_key, 1) = 'p', (NEW.bills > 0) - (OLD.bills > 0), 0));
  END IF;
END;
