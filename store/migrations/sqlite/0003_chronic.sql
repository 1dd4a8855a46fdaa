-- Chronic disease management: registries, follow-up visits, tier changes
-- with hand-offs, overdue calls, and the message outbox.

CREATE TABLE chronic_registrations (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    disease        TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'active',
    source         TEXT    NOT NULL,
    enrolled_on    TEXT    NOT NULL,
    clinic_id      INTEGER NOT NULL REFERENCES institutions(id),
    doctor_id      INTEGER REFERENCES practitioners(id),
    tier           TEXT    NOT NULL,
    tier_since     TEXT    NOT NULL,
    last_class     TEXT    NOT NULL DEFAULT '',
    last_visit     TEXT,
    next_visit     TEXT    NOT NULL,
    risk           INTEGER NOT NULL DEFAULT 0,
    prior_stroke_mi INTEGER NOT NULL DEFAULT 0,
    tb_phase       TEXT    NOT NULL DEFAULT '',
    tb_supervisor  TEXT    NOT NULL DEFAULT '',
    note           TEXT    NOT NULL DEFAULT '',
    closed_on      TEXT,
    created_at     TEXT    NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
-- One live registration per resident and disease.
CREATE UNIQUE INDEX chronic_reg_live ON chronic_registrations(county_code, resident_id, disease) WHERE status = 'active';
CREATE INDEX chronic_reg_clinic ON chronic_registrations(clinic_id, status, next_visit);
CREATE INDEX chronic_reg_tier ON chronic_registrations(county_code, status, tier);

CREATE TABLE chronic_visits (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    registration_id INTEGER NOT NULL REFERENCES chronic_registrations(id),
    resident_id     INTEGER NOT NULL,
    disease         TEXT    NOT NULL,
    visit_date      TEXT    NOT NULL,
    face_to_face    INTEGER NOT NULL,
    sbp             INTEGER NOT NULL DEFAULT 0,
    dbp             INTEGER NOT NULL DEFAULT 0,
    heart_rate      INTEGER NOT NULL DEFAULT 0,
    fpg             INTEGER NOT NULL DEFAULT 0,
    temperature     INTEGER NOT NULL DEFAULT 0,
    weight_dg       INTEGER NOT NULL DEFAULT 0,
    height_cm       INTEGER NOT NULL DEFAULT 0,
    symptoms        TEXT    NOT NULL DEFAULT '',
    adherence       TEXT    NOT NULL DEFAULT '',
    adverse         INTEGER NOT NULL DEFAULT 0,
    adverse_uncontrollable INTEGER NOT NULL DEFAULT 0,
    complication    INTEGER NOT NULL DEFAULT 0,
    pregnant        INTEGER NOT NULL DEFAULT 0,
    risk_level      INTEGER NOT NULL DEFAULT 0,
    insight         INTEGER NOT NULL DEFAULT 0,
    symptomatic     INTEGER NOT NULL DEFAULT 0,
    doses_due       INTEGER NOT NULL DEFAULT 0,
    doses_missed    INTEGER NOT NULL DEFAULT 0,
    lifestyle       TEXT    NOT NULL DEFAULT '',
    class           TEXT    NOT NULL,
    urgent          TEXT    NOT NULL DEFAULT '',
    refer           INTEGER NOT NULL DEFAULT 0,
    refer_reasons   TEXT    NOT NULL DEFAULT '',
    next_visit      TEXT    NOT NULL,
    recorded_by     INTEGER NOT NULL DEFAULT 0,
    institution_id  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    UNIQUE (registration_id, visit_date)
);
CREATE INDEX chronic_visits_date ON chronic_visits(county_code, visit_date);

CREATE TABLE chronic_tier_changes (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    registration_id INTEGER NOT NULL REFERENCES chronic_registrations(id),
    resident_id     INTEGER NOT NULL,
    from_tier       TEXT    NOT NULL,
    to_tier         TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    to_institution  INTEGER NOT NULL,
    acknowledged_by INTEGER,
    acknowledged_at TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX chronic_tier_changes_inbox ON chronic_tier_changes(to_institution, acknowledged_at);
CREATE INDEX chronic_tier_changes_reg ON chronic_tier_changes(registration_id, id);

CREATE TABLE chronic_calls (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    registration_id INTEGER NOT NULL REFERENCES chronic_registrations(id),
    outcome         TEXT    NOT NULL,
    hide_until      TEXT    NOT NULL,
    called_by       INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL
);
CREATE INDEX chronic_calls_reg ON chronic_calls(registration_id, hide_until);

-- Messages to people (SMS, WeChat): written here, sent by the configured sender.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL DEFAULT 0,
    channel     TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'queued',
    created_at  TEXT    NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_resident ON outbox(resident_id, purpose, created_at);
CREATE INDEX outbox_status ON outbox(status, id);
