-- Online follow-up visits (互联网复诊, issue #7) (SQLite): the visit with
-- the offline document that diagnosed the condition, the guardian of a
-- child under 6, the doctor's step-up session, the end or redirection;
-- the chat (kept ≥ 3 years, docs/online.md) and its images; the link to
-- the prescriptions signed at the visit.

CREATE TABLE online_visits (
    id                 INTEGER PRIMARY KEY,
    county_code        TEXT    NOT NULL,
    resident_id        INTEGER  NOT NULL,
    clinic_id          INTEGER  NOT NULL REFERENCES institutions(id),
    booked_by          INTEGER  NOT NULL,
    booked_by_role     TEXT    NOT NULL,
    diagnosis          TEXT    NOT NULL,
    complaint          TEXT    NOT NULL DEFAULT '',
    prior_kind         TEXT    NOT NULL,
    prior_id           INTEGER  NOT NULL,
    prior_code         TEXT    NOT NULL,
    prior_on           TEXT    NOT NULL,
    guardian_name      TEXT    NOT NULL DEFAULT '',
    guardian_id_number TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL,
    doctor_account     INTEGER,
    doctor_id          INTEGER,
    doctor_name        TEXT    NOT NULL DEFAULT '',
    doctor_session     INTEGER,
    stepped_up_at      TEXT,
    end_reason         TEXT    NOT NULL DEFAULT '',
    ended_at           TEXT,
    created_at         TEXT NOT NULL,
    version            INTEGER  NOT NULL DEFAULT 1,
    FOREIGN KEY (resident_id) REFERENCES residents(id)
);
CREATE INDEX online_visits_resident ON online_visits(county_code, resident_id, created_at);
CREATE INDEX online_visits_clinic ON online_visits(clinic_id, status, created_at);

CREATE TABLE online_messages (
    id          INTEGER PRIMARY KEY,
    county_code TEXT   NOT NULL,
    visit_id    INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    sender      TEXT   NOT NULL,
    author      TEXT   NOT NULL DEFAULT '',
    body        TEXT   NOT NULL DEFAULT '',
    image_sha   TEXT   NOT NULL DEFAULT '',
    image_type  TEXT   NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX online_messages_visit ON online_messages(county_code, visit_id, id);
CREATE INDEX online_messages_at ON online_messages(at);

-- Chat images, once per content and county; purged with the last message
-- that shows them.
CREATE TABLE online_images (
    county_code TEXT   NOT NULL,
    sha256      TEXT   NOT NULL,
    type        TEXT   NOT NULL,
    size        INTEGER NOT NULL,
    data        BLOB  NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (county_code, sha256)
);

CREATE TABLE online_visit_prescriptions (
    county_code     TEXT   NOT NULL,
    visit_id        INTEGER NOT NULL,
    prescription_id INTEGER NOT NULL,
    PRIMARY KEY (county_code, visit_id, prescription_id)
);

-- The prior-diagnosis check reads a resident's registrations of any status
-- (chronic_reg_live covers only active ones).
CREATE INDEX chronic_reg_resident ON chronic_registrations(county_code, resident_id);
