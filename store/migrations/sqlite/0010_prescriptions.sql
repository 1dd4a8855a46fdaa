-- Signed prescriptions and their regional review (issue #7): the draft as
-- signed and the engine's findings as JSON, the review state, who reviewed
-- and dispensed, and when (review time is an indicator).

CREATE TABLE prescriptions (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    prescriber_id  INTEGER REFERENCES practitioners(id),
    account_id     INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    issued_on      TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    findings       TEXT    NOT NULL,
    outcome        INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    signed_at      TEXT    NOT NULL,
    reviewer_id    INTEGER,
    reviewed_at    TEXT,
    review_reason  TEXT    NOT NULL DEFAULT '',
    dispensed_by   INTEGER,
    dispensed_at   TEXT,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX prescriptions_queue ON prescriptions(county_code, status, signed_at);
CREATE INDEX prescriptions_resident ON prescriptions(county_code, resident_id, signed_at);
