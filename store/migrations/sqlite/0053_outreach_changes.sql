-- Expert sessions edited and cancelled, text messages for bookings (issue 17,
-- docs/outreach.md).
--
-- room: where at the township center the session is held (free text, may be
-- empty); cancel_reason, cancelled_by, cancelled_at: set when the session is
-- cancelled (its bookings are cancelled with it); updated_by, updated_at: the
-- last edit. reminded_at: when the day-before text reminder of a booking was
-- queued (or skipped: no mobile number) — set once, so a reminder goes out
-- once; cleared when the session moves to another day.
ALTER TABLE outreach_sessions ADD COLUMN room TEXT NOT NULL DEFAULT '';
ALTER TABLE outreach_sessions ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE outreach_sessions ADD COLUMN cancelled_by INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outreach_sessions ADD COLUMN cancelled_at TEXT;
ALTER TABLE outreach_sessions ADD COLUMN updated_by INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outreach_sessions ADD COLUMN updated_at TEXT;
ALTER TABLE outreach_bookings ADD COLUMN reminded_at TEXT;
CREATE INDEX outreach_sessions_day ON outreach_sessions(date, status);
