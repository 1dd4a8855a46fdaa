-- Issue 18. Settlement adjustments: when a settlement is corrected or
-- reversed, or a visit is settled with an earlier date than visits already
-- settled, the later visits of the same person-year are settled again in
-- date order in the same transaction; each one whose split changed gets a
-- row here (what each payer paid before and after, and why).
CREATE TABLE settlement_adjustments (
    id                  INTEGER PRIMARY KEY,
    county_code         TEXT    NOT NULL,
    settlement_id       INTEGER NOT NULL REFERENCES settlements(id),
    resident_id         INTEGER NOT NULL,
    year                INTEGER NOT NULL,
    cause               TEXT    NOT NULL, -- correction, reversal, earlier_visit
    cause_settlement_id INTEGER NOT NULL,
    before              TEXT    NOT NULL, -- JSON: layer → paid (fen), and "patient"
    after               TEXT    NOT NULL,
    patient_change      INTEGER NOT NULL, -- after − before, fen
    insurers_change     INTEGER NOT NULL,
    created_by          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT    NOT NULL
);
CREATE INDEX settlement_adjustments_settlement ON settlement_adjustments(county_code, settlement_id);

-- Chronic special-outpatient certifications (门慢/门特 认定): the disease
-- (policy category and ICD-10 code), validity, issuing office; ended, never deleted.
CREATE TABLE chronic_certifications (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    category    TEXT    NOT NULL,
    diagnosis   TEXT    NOT NULL,
    valid_from  TEXT    NOT NULL,
    valid_to    TEXT    NOT NULL,
    office      TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'active',
    created_by  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    ended_by    INTEGER,
    ended_at    TEXT,
    end_reason  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX chronic_certifications_resident ON chronic_certifications(county_code, resident_id);
