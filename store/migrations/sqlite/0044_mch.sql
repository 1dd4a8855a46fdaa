-- Maternal and child health (issue 17): pregnancies with their visits, and
-- children 0–6 with their checks. next_kind/next_from/next_due are the next
-- service due (NULL when none), kept on every write so the overdue list per
-- township reads one index; version is bumped by every write (two writers
-- of one record: the second is refused). factors and findings are
-- comma-separated codes.
CREATE TABLE mch_pregnancies (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    managed_by    INTEGER NOT NULL,
    clinic_id     INTEGER NOT NULL REFERENCES institutions(id),
    lmp           TEXT    NOT NULL,
    edd           TEXT    NOT NULL,
    registered_on TEXT    NOT NULL,
    registered_by INTEGER NOT NULL,
    gravida       INTEGER NOT NULL,
    parity        INTEGER NOT NULL,
    height_mm     INTEGER NOT NULL DEFAULT 0,
    weight_g      INTEGER NOT NULL DEFAULT 0,
    factors       TEXT    NOT NULL DEFAULT '',
    colour        TEXT    NOT NULL,
    purple        INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    delivered_on  TEXT,
    discharged_on TEXT,
    delivery_mode TEXT    NOT NULL DEFAULT '',
    outcome       TEXT    NOT NULL DEFAULT '',
    baby_weight_g INTEGER NOT NULL DEFAULT 0,
    next_kind     TEXT    NOT NULL DEFAULT '',
    next_from     TEXT,
    next_due      TEXT,
    version       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE UNIQUE INDEX mch_pregnancies_open ON mch_pregnancies(resident_id) WHERE status = 'open';
CREATE INDEX mch_pregnancies_resident ON mch_pregnancies(county_code, resident_id);
CREATE INDEX mch_pregnancies_overdue ON mch_pregnancies(managed_by, next_due) WHERE next_due IS NOT NULL;
CREATE INDEX mch_pregnancies_risk ON mch_pregnancies(county_code, colour, status);
CREATE TABLE mch_visits (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    pregnancy_id INTEGER NOT NULL REFERENCES mch_pregnancies(id),
    resident_id  INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    date         TEXT    NOT NULL,
    gest_days    INTEGER NOT NULL DEFAULT 0,
    weight_g     INTEGER NOT NULL DEFAULT 0,
    sbp          INTEGER NOT NULL DEFAULT 0,
    dbp          INTEGER NOT NULL DEFAULT 0,
    fundal_mm    INTEGER NOT NULL DEFAULT 0,
    fetal_hr     INTEGER NOT NULL DEFAULT 0,
    hb_gl        INTEGER NOT NULL DEFAULT 0,
    factors      TEXT    NOT NULL DEFAULT '',
    colour       TEXT    NOT NULL,
    note         TEXT    NOT NULL DEFAULT '',
    clinic_id    INTEGER NOT NULL,
    by_account   INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (pregnancy_id, kind)
);
CREATE TABLE mch_children (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL UNIQUE REFERENCES residents(id),
    managed_by      INTEGER NOT NULL,
    sex             INTEGER NOT NULL,
    birth_date      TEXT    NOT NULL,
    discharged_on   TEXT,
    birth_weight_g  INTEGER NOT NULL DEFAULT 0,
    birth_length_mm INTEGER NOT NULL DEFAULT 0,
    gest_weeks      INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    registered_on   TEXT    NOT NULL,
    registered_by   INTEGER NOT NULL,
    next_kind       TEXT    NOT NULL DEFAULT '',
    next_from       TEXT,
    next_due        TEXT,
    version         INTEGER NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX mch_children_overdue ON mch_children(managed_by, next_due) WHERE next_due IS NOT NULL;
CREATE TABLE mch_child_checks (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    child_id    INTEGER NOT NULL REFERENCES mch_children(id),
    resident_id INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    date        TEXT    NOT NULL,
    age_days    INTEGER NOT NULL,
    weight_g    INTEGER NOT NULL DEFAULT 0,
    length_mm   INTEGER NOT NULL DEFAULT 0,
    head_mm     INTEGER NOT NULL DEFAULT 0,
    waz         REAL,
    haz         REAL,
    whz         REAL,
    baz         REAL,
    findings    TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    clinic_id   INTEGER NOT NULL,
    by_account  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    UNIQUE (child_id, kind)
);
