-- Family doctor contracts (家庭医生签约): teams and their members, service
-- packages, contracts (never overwritten: renewals and switches are new
-- rows pointing at the one they continue) and the services delivered.

CREATE TABLE family_teams (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    leader_id      INTEGER NOT NULL REFERENCES practitioners(id),
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX family_teams_owner ON family_teams(county_code, institution_id);

CREATE TABLE family_team_members (
    team_id         INTEGER NOT NULL REFERENCES family_teams(id),
    practitioner_id INTEGER NOT NULL REFERENCES practitioners(id),
    role            TEXT    NOT NULL,
    PRIMARY KEY (team_id, practitioner_id)
);

CREATE TABLE family_packages (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    fee_fen     INTEGER NOT NULL DEFAULT 0,
    services    TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    UNIQUE (county_code, code)
);

CREATE TABLE family_contracts (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    team_id         INTEGER NOT NULL REFERENCES family_teams(id),
    package_id      INTEGER NOT NULL REFERENCES family_packages(id),
    services        TEXT    NOT NULL,
    fee_fen         INTEGER NOT NULL DEFAULT 0,
    start_date      TEXT    NOT NULL,
    end_date        TEXT    NOT NULL,
    consent_by      TEXT    NOT NULL,
    consent_name    TEXT    NOT NULL DEFAULT '',
    consent_method  TEXT    NOT NULL,
    consent_witness TEXT    NOT NULL DEFAULT '',
    consent_at      TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'active',
    previous_id     INTEGER REFERENCES family_contracts(id),
    ended_on        TEXT,
    end_reason      TEXT    NOT NULL DEFAULT '',
    signed_by       INTEGER NOT NULL DEFAULT 0,
    institution_id  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    closed_by       INTEGER,
    closed_at       TEXT,
    CHECK (end_date > start_date),
    CHECK (consent_by <> '' AND consent_method <> '')
);
-- One team at a time: one active contract per resident.
CREATE UNIQUE INDEX family_contracts_live ON family_contracts(county_code, resident_id) WHERE status = 'active';
CREATE INDEX family_contracts_resident ON family_contracts(county_code, resident_id, start_date);
CREATE INDEX family_contracts_period ON family_contracts(county_code, end_date);

CREATE TABLE family_services (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    contract_id     INTEGER NOT NULL REFERENCES family_contracts(id),
    kind            TEXT    NOT NULL,
    service_date    TEXT    NOT NULL,
    practitioner_id INTEGER,
    institution_id  INTEGER NOT NULL DEFAULT 0,
    note            TEXT    NOT NULL DEFAULT '',
    recorded_by     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    -- The same service the same day is one service: nothing counted twice.
    UNIQUE (county_code, resident_id, kind, service_date)
);
CREATE INDEX family_services_contract ON family_services(contract_id);

-- Chronic follow-ups count as family-doctor follow-ups: found by resident and day.
CREATE INDEX chronic_visits_resident ON chronic_visits(county_code, resident_id, visit_date);

-- Health points (积分制): an append-only ledger; the balance is the sum.
-- An event earns points once: the unique key below.
CREATE TABLE points_ledger (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    rule        TEXT    NOT NULL,
    event_ref   TEXT    NOT NULL,
    points      INTEGER NOT NULL,
    occurred_on TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    created_by  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    UNIQUE (county_code, resident_id, rule, event_ref)
);
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END;
