-- Receipts numbered in batches by one writer (docs/PERFORMANCE.md, the rush, item 2).
--
-- A payment's transaction writes its receipts with receipt_no and seq NULL; the numberer
-- (app/billing/numbering.go) then numbers every pending receipt, oldest id first, in one
-- short transaction that takes the year's receipt_sequences row once for the whole batch,
-- instead of every payment holding that row through its own COMMIT and log flush.
-- Numbers stay gapless per year and unique: the unique keys on receipt_no and (year, seq)
-- still hold, and NULLs do not collide in them.
--
-- ix_receipts_unnumbered is the numberer's queue: WHERE seq IS NULL ORDER BY id reads the
-- NULL entries of (seq), which InnoDB keeps in primary-key order.

ALTER TABLE receipts
  MODIFY receipt_no VARCHAR(32) NULL,
  MODIFY seq        BIGINT      NULL,
  ADD KEY ix_receipts_unnumbered (seq);
