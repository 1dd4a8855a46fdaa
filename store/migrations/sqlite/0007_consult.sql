-- Remote consultation: duty rosters, cases with durable response deadlines,
-- their timeline and message threads, and content-addressed attachments.

CREATE TABLE duty_slots (
    id              INTEGER PRIMARY KEY,
    institution_id  INTEGER NOT NULL REFERENCES institutions(id),
    department_id   INTEGER NOT NULL REFERENCES departments(id),
    practitioner_id INTEGER NOT NULL REFERENCES practitioners(id),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    position        INTEGER NOT NULL,
    created_by      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX duty_slots_dept ON duty_slots(department_id, ends_at);

CREATE TABLE consultations (
    id               INTEGER PRIMARY KEY,
    county_code      TEXT NOT NULL,
    resident_id      INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    urgency          TEXT NOT NULL,
    reason           TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    summary          TEXT NOT NULL,
    specialty        TEXT NOT NULL,
    min_title        TEXT NOT NULL DEFAULT '',
    departments      TEXT NOT NULL DEFAULT '',
    from_institution INTEGER NOT NULL,
    from_doctor      INTEGER NOT NULL DEFAULT 0,
    from_account     INTEGER NOT NULL,
    to_institution   INTEGER NOT NULL,
    to_department    INTEGER NOT NULL,
    assigned_to      INTEGER NOT NULL,
    step             INTEGER NOT NULL DEFAULT 0,
    chain            TEXT NOT NULL DEFAULT '',
    head_id          INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    consent_by       TEXT NOT NULL,
    consent_name     TEXT NOT NULL DEFAULT '',
    consent_method   TEXT NOT NULL,
    consent_at       TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL DEFAULT '',
    request_hash     TEXT NOT NULL DEFAULT '',
    decline_reason   TEXT NOT NULL DEFAULT '',
    opinion_assessment TEXT NOT NULL DEFAULT '',
    opinion_code     TEXT NOT NULL DEFAULT '',
    opinion_text     TEXT NOT NULL DEFAULT '',
    opinion_plan     TEXT NOT NULL DEFAULT '',
    opinion_refer    INTEGER NOT NULL DEFAULT 0,
    opinion_signed_by INTEGER NOT NULL DEFAULT 0,
    opinion_signed_at TEXT,
    opinion_hash     TEXT NOT NULL DEFAULT '',
    decision         TEXT NOT NULL DEFAULT '',
    decision_note    TEXT NOT NULL DEFAULT '',
    rehab_sessions   INTEGER NOT NULL DEFAULT 0,
    care_link_id     INTEGER NOT NULL DEFAULT 0,
    escalations      INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    accepted_at      TEXT,
    answered_at      TEXT,
    closed_at        TEXT,
    version          INTEGER NOT NULL DEFAULT 1
);
-- A retried request (same account, same idempotency key) finds the first.
CREATE UNIQUE INDEX consultations_key ON consultations(from_account, idempotency_key) WHERE idempotency_key <> '';
-- The scheduler's scan: requested cases by deadline.
CREATE INDEX consultations_due ON consultations(status, deadline);
CREATE INDEX consultations_assigned ON consultations(assigned_to, status);
CREATE INDEX consultations_from ON consultations(from_institution, created_at);
CREATE INDEX consultations_dept ON consultations(to_department, created_at);
CREATE INDEX consultations_resident ON consultations(county_code, resident_id);

CREATE TABLE consultation_events (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT NOT NULL,
    consultation_id INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    practitioner_id INTEGER NOT NULL DEFAULT 0,
    account_id      INTEGER NOT NULL DEFAULT 0,
    detail          TEXT NOT NULL DEFAULT '',
    at              TEXT NOT NULL
);
CREATE INDEX consultation_events_c ON consultation_events(consultation_id, id);

CREATE TABLE consultation_messages (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT NOT NULL,
    consultation_id INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,
    author          TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    attachments     TEXT NOT NULL DEFAULT '[]',
    at              TEXT NOT NULL
);
CREATE INDEX consultation_messages_c ON consultation_messages(consultation_id, id);

-- Attachments, stored once by content (SHA-256), per county.
CREATE TABLE blobs (
    county_code TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    type        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (county_code, sha256)
);
