-- One-stop settlement: policies (versioned, never overwritten), settled
-- visits with their itemised bills and results, year-to-date
-- accumulators, treat-first-pay-later admissions and receivables, fund budgets.

CREATE TABLE settle_policies (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    year           INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    effective_from TEXT    NOT NULL,
    effective_to   TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    created_by     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    UNIQUE (county_code, year, version)
);

CREATE TABLE settlements (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    institution_id  INTEGER NOT NULL REFERENCES institutions(id),
    visit_id        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    claim_hash      TEXT    NOT NULL,
    policy_id       INTEGER NOT NULL REFERENCES settle_policies(id),
    year            INTEGER NOT NULL,
    visit_date      TEXT    NOT NULL,
    visit_type      TEXT    NOT NULL,
    level           TEXT    NOT NULL,
    poverty         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'settled',
    total           INTEGER NOT NULL,
    eligible        INTEGER NOT NULL,
    basic           INTEGER NOT NULL,
    critical        INTEGER NOT NULL,
    assistance      INTEGER NOT NULL,
    supplementary   INTEGER NOT NULL,
    bottom_line     INTEGER NOT NULL,
    patient         INTEGER NOT NULL,
    drugs           INTEGER NOT NULL,
    materials       INTEGER NOT NULL,
    drg             TEXT    NOT NULL DEFAULT '',
    claim           TEXT    NOT NULL,
    result          TEXT    NOT NULL, -- amounts only; the explanation is derived again from claim, acc_before and the policy
    acc_before      TEXT    NOT NULL DEFAULT '{}',
    created_by      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    reversed_by     INTEGER,
    reversed_at     TEXT,
    reversal_reason TEXT    NOT NULL DEFAULT '',
    replaced_by     INTEGER,
    UNIQUE (county_code, idempotency_key)
);
-- A visit is settled at most once at a time: paying twice is impossible.
CREATE UNIQUE INDEX settlements_live_visit ON settlements(county_code, visit_id) WHERE status = 'settled';
CREATE INDEX settlements_resident ON settlements(county_code, resident_id, id);
CREATE INDEX settlements_date ON settlements(county_code, visit_date);

CREATE TABLE settle_accumulators (
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL,
    year        INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (county_code, resident_id, year)
);

-- 先诊疗后付费: admission without deposit; the patient's share becomes a receivable.
CREATE TABLE admissions (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    visit_id       TEXT    NOT NULL,
    no_deposit     INTEGER NOT NULL DEFAULT 0,
    eligibility    TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL DEFAULT 'admitted',
    admitted_on    TEXT    NOT NULL,
    created_by     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    UNIQUE (county_code, visit_id)
);

CREATE TABLE receivables (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    settlement_id INTEGER NOT NULL UNIQUE REFERENCES settlements(id),
    amount        INTEGER NOT NULL,
    paid          INTEGER NOT NULL DEFAULT 0,
    instalments   INTEGER NOT NULL DEFAULT 1,
    status        TEXT    NOT NULL DEFAULT 'open',
    created_at    TEXT    NOT NULL
);
CREATE INDEX receivables_resident ON receivables(county_code, resident_id);

CREATE TABLE receivable_payments (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    receivable_id   INTEGER NOT NULL REFERENCES receivables(id),
    amount          INTEGER NOT NULL,
    method          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    recorded_by     INTEGER NOT NULL DEFAULT 0,
    paid_at         TEXT    NOT NULL,
    UNIQUE (county_code, idempotency_key)
);

CREATE TABLE fund_budgets (
    county_code  TEXT    NOT NULL,
    community_id INTEGER NOT NULL REFERENCES institutions(id),
    year         INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    updated_by   INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (county_code, community_id, year)
);
