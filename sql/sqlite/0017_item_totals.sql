-- Item totals maintained as bills change (issue 13, item 2).
--
-- item_totals holds, per charge item, the sums item progress and the dashboards' item chart
-- read (cancelled bills left out). Nothing in a payment transaction updates it: triggers on
-- bills append one row to item_deltas per change of a bill's amounts or status (an INSERT
-- of a new row, never an UPDATE of a shared one, so no hot row), and the fold-item-totals
-- job adds the deltas into item_totals and deletes them in one transaction. A read sums
-- item_totals and the deltas not yet folded in one statement, so a payment shows at once.
--
-- A bill's contribution: bills 1, due, paid, refunded, outstanding (due - paid while unpaid
-- or partly paid), unpaid_bills (unpaid or partial), paid_bills (paid or refunded); nothing
-- once cancelled. A delta is the contribution after the change less the one before.

CREATE TABLE item_totals (
  item_id          INTEGER NOT NULL PRIMARY KEY,
  bills            INTEGER NOT NULL,
  due_fen          INTEGER NOT NULL,
  paid_fen         INTEGER NOT NULL,
  refunded_fen     INTEGER NOT NULL,
  outstanding_fen  INTEGER NOT NULL,
  unpaid_bills     INTEGER NOT NULL,
  paid_bills       INTEGER NOT NULL
);

CREATE TABLE item_deltas (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  item_id          INTEGER NOT NULL,
  bills            INTEGER NOT NULL,
  due_fen          INTEGER NOT NULL,
  paid_fen         INTEGER NOT NULL,
  refunded_fen     INTEGER NOT NULL,
  outstanding_fen  INTEGER NOT NULL,
  unpaid_bills     INTEGER NOT NULL,
  paid_bills       INTEGER NOT NULL
);

INSERT INTO item_totals (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
SELECT item_id, COUNT(*), SUM(amount_due_fen), SUM(amount_paid_fen), SUM(amount_refunded_fen),
       SUM(CASE WHEN status IN ('unpaid', 'partial') THEN amount_due_fen - amount_paid_fen ELSE 0 END),
       SUM(CASE WHEN status IN ('unpaid', 'partial') THEN 1 ELSE 0 END),
       SUM(CASE WHEN status IN ('paid', 'refunded') THEN 1 ELSE 0 END)
FROM bills WHERE status <> 'cancelled' GROUP BY item_id;

CREATE TRIGGER tr_bills_item_delta_insert AFTER INSERT ON bills FOR EACH ROW BEGIN
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
SELECT NEW.item_id, 1, NEW.amount_due_fen, NEW.amount_paid_fen, NEW.amount_refunded_fen,
       CASE WHEN NEW.status IN ('unpaid', 'partial') THEN NEW.amount_due_fen - NEW.amount_paid_fen ELSE 0 END,
       CASE WHEN NEW.status IN ('unpaid', 'partial') THEN 1 ELSE 0 END, CASE WHEN NEW.status IN ('paid', 'refunded') THEN 1 ELSE 0 END
WHERE NEW.status <> 'cancelled'; END;

CREATE TRIGGER tr_bills_item_delta_update AFTER UPDATE ON bills FOR EACH ROW BEGIN
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
SELECT x.item_id, SUM(x.bills), SUM(x.due_fen), SUM(x.paid_fen), SUM(x.refunded_fen), SUM(x.outstanding_fen), SUM(x.unpaid_bills), SUM(x.paid_bills)
FROM (
  SELECT NEW.item_id AS item_id, 1 AS bills, NEW.amount_due_fen AS due_fen, NEW.amount_paid_fen AS paid_fen, NEW.amount_refunded_fen AS refunded_fen,
         CASE WHEN NEW.status IN ('unpaid', 'partial') THEN NEW.amount_due_fen - NEW.amount_paid_fen ELSE 0 END AS outstanding_fen,
         CASE WHEN NEW.status IN ('unpaid', 'partial') THEN 1 ELSE 0 END AS unpaid_bills, CASE WHEN NEW.status IN ('paid', 'refunded') THEN 1 ELSE 0 END AS paid_bills
  WHERE NEW.status <> 'cancelled'
  UNION ALL
  SELECT OLD.item_id, -1, -OLD.amount_due_fen, -OLD.amount_paid_fen, -OLD.amount_refunded_fen,
         -CASE WHEN OLD.status IN ('unpaid', 'partial') THEN OLD.amount_due_fen - OLD.amount_paid_fen ELSE 0 END,
         -CASE WHEN OLD.status IN ('unpaid', 'partial') THEN 1 ELSE 0 END, -CASE WHEN OLD.status IN ('paid', 'refunded') THEN 1 ELSE 0 END
  WHERE OLD.status <> 'cancelled'
) AS x
WHERE NEW.item_id <> OLD.item_id OR NEW.status <> OLD.status OR NEW.amount_due_fen <> OLD.amount_due_fen
   OR NEW.amount_paid_fen <> OLD.amount_paid_fen OR NEW.amount_refunded_fen <> OLD.amount_refunded_fen
GROUP BY x.item_id; END;

CREATE TRIGGER tr_bills_item_delta_delete AFTER DELETE ON bills FOR EACH ROW BEGIN
INSERT INTO item_deltas (item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills)
SELECT OLD.item_id, -1, -OLD.amount_due_fen, -OLD.amount_paid_fen, -OLD.amount_refunded_fen,
       -CASE WHEN OLD.status IN ('unpaid', 'partial') THEN OLD.amount_due_fen - OLD.amount_paid_fen ELSE 0 END,
       -CASE WHEN OLD.status IN ('unpaid', 'partial') THEN 1 ELSE 0 END, -CASE WHEN OLD.status IN ('paid', 'refunded') THEN 1 ELSE 0 END
WHERE OLD.status <> 'cancelled'; END;
