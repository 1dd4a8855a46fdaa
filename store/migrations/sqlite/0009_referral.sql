-- Two-way referral (双向转诊): up-referrals to the county (or out of the
-- county) and down-referrals at discharge with follow-up tasks; every
-- transition in referral_events. docs/referral.md.

CREATE TABLE referrals (
    id                   INTEGER PRIMARY KEY,
    county_code          TEXT    NOT NULL,
    direction            TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    resident_id          INTEGER NOT NULL REFERENCES residents(id),
    poverty              INTEGER NOT NULL DEFAULT 0,
    green_channel        INTEGER NOT NULL DEFAULT 0,
    urgency              TEXT    NOT NULL,
    reasons              TEXT    NOT NULL DEFAULT '',
    summary              TEXT    NOT NULL DEFAULT '',
    from_institution     INTEGER NOT NULL REFERENCES institutions(id),
    from_department      INTEGER,
    to_institution       INTEGER NOT NULL REFERENCES institutions(id),
    to_department        INTEGER,
    out_of_county        INTEGER NOT NULL DEFAULT 0,
    bed_requested        INTEGER NOT NULL DEFAULT 0,
    requested_at         TEXT,
    appointment          TEXT,
    bed                  TEXT    NOT NULL DEFAULT '',
    diagnosis            TEXT    NOT NULL DEFAULT '',
    diagnosis_text       TEXT    NOT NULL DEFAULT '',
    plan                 TEXT    NOT NULL DEFAULT '',
    up_referral_id       INTEGER REFERENCES referrals(id),
    redirected_from      INTEGER REFERENCES referrals(id),
    consultation_id      INTEGER, -- the consultation it came from; no foreign key (another capability)
    note                 TEXT    NOT NULL DEFAULT '',
    idempotency_key      TEXT    NOT NULL,
    body_hash            TEXT    NOT NULL DEFAULT '',
    care_link_id         INTEGER,
    sent_by              INTEGER NOT NULL DEFAULT 0,
    sent_by_practitioner INTEGER,
    first_sent_at        TEXT    NOT NULL,
    sent_at              TEXT    NOT NULL,
    accepted_at          TEXT,
    arrived_at           TEXT,
    closed_at            TEXT,
    updated_at           TEXT    NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1,
    UNIQUE (county_code, idempotency_key)
);
CREATE INDEX referrals_resident ON referrals(county_code, resident_id);
CREATE INDEX referrals_to ON referrals(to_institution, direction, status);
CREATE INDEX referrals_from ON referrals(from_institution, status);
CREATE INDEX referrals_sent ON referrals(county_code, first_sent_at);

CREATE TABLE referral_events (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    referral_id    INTEGER NOT NULL REFERENCES referrals(id),
    action         TEXT    NOT NULL,
    from_status    TEXT    NOT NULL DEFAULT '',
    to_status      TEXT    NOT NULL,
    note           TEXT    NOT NULL DEFAULT '',
    actor_id       INTEGER NOT NULL DEFAULT 0,
    institution_id INTEGER NOT NULL DEFAULT 0,
    at             TEXT    NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events(referral_id, id);

CREATE TABLE referral_tasks (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    referral_id INTEGER NOT NULL REFERENCES referrals(id),
    resident_id INTEGER NOT NULL,
    clinic_id   INTEGER NOT NULL REFERENCES institutions(id),
    kind        TEXT    NOT NULL,
    due_on      TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL
);
CREATE INDEX referral_tasks_referral ON referral_tasks(referral_id);
CREATE INDEX referral_tasks_clinic ON referral_tasks(clinic_id, due_on);
