-- Specimens from villages to the county lab (issue 17): the tube with its
-- barcode, the transport box, every step as a timestamped event, and the
-- lab results filed for a specimen. version is bumped by every step, so
-- two scans of one tube at once move it only once; alerted_at is the
-- overdue alert of the current status (reset by the next step), alerts
-- how many it has raised in all; doctor is the ordering doctor's name.
CREATE TABLE specimen_boxes (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    clinic_id    INTEGER NOT NULL REFERENCES institutions(id),
    lab_id       INTEGER NOT NULL REFERENCES institutions(id),
    temp_tenths  INTEGER NOT NULL,
    courier      TEXT    NOT NULL DEFAULT '',
    route        TEXT    NOT NULL DEFAULT '',
    packed_by    INTEGER NOT NULL,
    packed_at    TEXT    NOT NULL,
    handed_at    TEXT
);
CREATE INDEX specimen_boxes_waiting ON specimen_boxes(county_code, clinic_id, handed_at);
CREATE TABLE specimens (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    barcode      TEXT    NOT NULL DEFAULT '',
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    clinic_id    INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by   INTEGER NOT NULL,
    lab_id       INTEGER NOT NULL REFERENCES institutions(id),
    tests        TEXT    NOT NULL,
    tube         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    box_id       INTEGER REFERENCES specimen_boxes(id),
    reason       TEXT    NOT NULL DEFAULT '',
    note         TEXT    NOT NULL DEFAULT '',
    doctor       TEXT    NOT NULL DEFAULT '',
    ordered_at   TEXT    NOT NULL,
    collected_at TEXT,
    received_at  TEXT,
    closed_at    TEXT,
    last_scan_at TEXT    NOT NULL,
    last_place   INTEGER NOT NULL,
    alerted_at   TEXT,
    alerts       INTEGER NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX specimens_clinic ON specimens(county_code, clinic_id, status, last_scan_at);
CREATE INDEX specimens_lab ON specimens(county_code, lab_id, status, last_scan_at);
CREATE INDEX specimens_open ON specimens(status, last_scan_at);
CREATE INDEX specimens_ordered ON specimens(county_code, ordered_at);
CREATE TABLE specimen_events (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    specimen_id    INTEGER NOT NULL REFERENCES specimens(id),
    step           TEXT    NOT NULL,
    at             TEXT    NOT NULL,
    institution_id INTEGER NOT NULL,
    account_id     INTEGER NOT NULL,
    detail         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX specimen_events_specimen ON specimen_events(county_code, specimen_id, at);
ALTER TABLE lab_results ADD COLUMN specimen_id INTEGER;
