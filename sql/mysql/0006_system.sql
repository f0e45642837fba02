-- System parameters, users, the payer roster and the audit log (console: 系统).

-- A sealed channel credential (an RSA private key is about 3 KB once sealed) does not fit
-- in VARCHAR(2000).
ALTER TABLE settings MODIFY v TEXT NOT NULL;

-- The roster list filters payers by status (在读 / 毕业 / 离校 / 停用).
CREATE INDEX ix_users_status ON users (status);

-- The audit log is searched by who acted and by action (prefix), newest first.
CREATE INDEX ix_audit_logs_actor ON audit_logs (actor, at);
CREATE INDEX ix_audit_logs_action ON audit_logs (action, at);
