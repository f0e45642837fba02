-- The console lists each business system's callbacks (newest first, by status) and counts
-- them: without this the events table, which only grows, is read whole for every page.
CREATE INDEX ix_events_client ON events (client, status);
