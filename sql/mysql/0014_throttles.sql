-- One counter per (scope, key) for everything a stranger can guess or flood: sign-in
-- failures per account and address, campus-card password failures, order look-ups per
-- address, API calls per client. Incremented in one statement; times are Unix
-- milliseconds so both dialects compare them as numbers.
CREATE TABLE throttles (
  scope         VARCHAR(32)  NOT NULL,   -- login.pair | login.account | login.address | card.payer | card.card | lookup | api
  k             VARCHAR(160) NOT NULL,
  hits          INT          NOT NULL,
  window_start  BIGINT       NOT NULL,   -- Unix ms of the window's first hit
  locked_until  BIGINT       NOT NULL DEFAULT 0,  -- Unix ms; 0 = not locked
  PRIMARY KEY (scope, k),
  KEY ix_throttles_window (window_start)
);

-- Sign-in throttling moved to throttles (per account and address pair first).
DROP TABLE login_failures;
