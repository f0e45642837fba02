-- Channel statements come from the adapters as normalised lines: a refund line carries our
-- refund number (refund_no), the company's (channel_refund_no), or both. Until now one
-- column held whichever the file had; the sandbox's files carried the sandbox's own number.
ALTER TABLE statement_lines ADD COLUMN channel_refund_no TEXT NOT NULL DEFAULT '';
UPDATE statement_lines SET channel_refund_no = refund_no, refund_no = ''
  WHERE kind = 'refund' AND statement_id IN (SELECT id FROM statements WHERE source = 'sandbox');

-- The file a channel's statement came in (zip, CSV, …) as the adapter handed it over,
-- gzip-compressed, kept in parts of at most 1 MiB.
CREATE TABLE statement_files (
  statement_id  INTEGER  NOT NULL,
  part          INTEGER  NOT NULL,
  data          BLOB     NOT NULL,
  PRIMARY KEY (statement_id, part),
  FOREIGN KEY (statement_id) REFERENCES statements (id)
);
