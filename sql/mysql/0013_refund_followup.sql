-- Following up a refund whose outcome the channel has not given: asked again with backoff
-- (1, 2, 5, 10, 30 minutes, then hourly) instead of every minute, and put in front of
-- finance once it has waited a day (still settled if the channel answers later).
ALTER TABLE refunds ADD COLUMN sync_attempts INT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_sync_at DATETIME(6) NULL;
ALTER TABLE refunds ADD COLUMN escalated_at DATETIME(6) NULL;
CREATE INDEX ix_refunds_next_sync ON refunds (status, next_sync_at);
