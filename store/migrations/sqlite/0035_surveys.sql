-- Resident surveys (issue 14 §4). An invitation is one survey offered to
-- one resident about one event (a settlement, a family-doctor service, a
-- consultation, a referral): the link's token is kept as its hash, and
-- answered is a flag with no time, so that it cannot be matched to an
-- answer. An answer keeps the institution, the doctor, the event's kind
-- and the month — never the resident, the invitation or the day.
CREATE TABLE survey_invitations (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    kind            TEXT    NOT NULL,
    event_id        INTEGER NOT NULL,
    institution_id  INTEGER NOT NULL REFERENCES institutions(id),
    practitioner_id INTEGER NOT NULL DEFAULT 0,
    channel         TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL UNIQUE,
    created_at      TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    answered        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, event_id)
);
CREATE INDEX survey_invitations_resident ON survey_invitations(county_code, resident_id, created_at);

CREATE TABLE survey_answers (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    institution_id  INTEGER NOT NULL REFERENCES institutions(id),
    practitioner_id INTEGER NOT NULL DEFAULT 0,
    kind            TEXT    NOT NULL,
    month           TEXT    NOT NULL, -- YYYY-MM
    answers         TEXT    NOT NULL, -- JSON: question id → value
    satisfied       INTEGER NOT NULL,
    aware           INTEGER NOT NULL  -- 1 yes, 0 no, -1 not asked
);
CREATE INDEX survey_answers_month ON survey_answers(county_code, month, institution_id);
