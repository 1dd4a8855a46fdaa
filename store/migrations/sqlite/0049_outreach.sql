-- Expert sessions in townships (专家下沉) and multi-site practitioners
-- (多点执业), issue 17 (docs/outreach.md).
--
-- practice_sites: a practitioner registered to work at an institution other
-- than their own, on weekdays (bit 0 Sunday … bit 6 Saturday) and/or listed
-- dates (comma-separated ISO dates), between valid_from and valid_to
-- (inclusive); session_id is set on the one an expert session made for its
-- date; revoked_at ends it.
CREATE TABLE practice_sites (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    practitioner_id INTEGER NOT NULL REFERENCES practitioners(id),
    institution_id  INTEGER NOT NULL REFERENCES institutions(id),
    weekdays        INTEGER NOT NULL DEFAULT 0,
    dates           TEXT    NOT NULL DEFAULT '',
    valid_from      TEXT    NOT NULL,
    valid_to        TEXT    NOT NULL,
    session_id      INTEGER,
    created_by      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX practice_sites_practitioner ON practice_sites(practitioner_id, valid_to);
-- outreach_sessions: a county specialist's session at a township center on
-- one date; slots are the start times ("08:30,09:00,…"), capacity the
-- patients per slot; version is bumped by every write.
CREATE TABLE outreach_sessions (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    township_id     INTEGER NOT NULL REFERENCES institutions(id),
    host_id         INTEGER NOT NULL REFERENCES institutions(id),
    practitioner_id INTEGER NOT NULL REFERENCES practitioners(id),
    specialty       TEXT    NOT NULL,
    date            TEXT    NOT NULL,
    slots           TEXT    NOT NULL,
    slot_minutes    INTEGER NOT NULL,
    capacity        INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    created_by      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX outreach_sessions_date ON outreach_sessions(county_code, date);
CREATE INDEX outreach_sessions_township ON outreach_sessions(township_id, date);
CREATE UNIQUE INDEX outreach_sessions_once ON outreach_sessions(practitioner_id, date) WHERE status <> 'cancelled';
-- outreach_bookings: a resident's place in one slot of a session; a resident
-- holds at most one live booking per session (the partial unique index);
-- status booked → cancelled | attended | no_show.
CREATE TABLE outreach_bookings (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    session_id   INTEGER NOT NULL REFERENCES outreach_sessions(id),
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    slot         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    booked_by    INTEGER NOT NULL,
    booked_at    TEXT    NOT NULL,
    updated_by   INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT
);
CREATE UNIQUE INDEX outreach_bookings_once ON outreach_bookings(session_id, resident_id) WHERE status <> 'cancelled';
CREATE INDEX outreach_bookings_resident ON outreach_bookings(county_code, resident_id);
CREATE INDEX outreach_bookings_session ON outreach_bookings(session_id, slot, status);
-- The institution a multi-site practitioner's session acts for (NULL: their own).
ALTER TABLE sessions ADD COLUMN acting_institution_id BIGINT;
