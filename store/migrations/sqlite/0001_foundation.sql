-- Foundation schema: organisation, staff, accounts, sessions, residents,
-- households, care links, audit trail. Times are UTC text
-- "YYYY-MM-DDTHH:MM:SS.ffffffZ"; dates are "YYYY-MM-DD".

CREATE TABLE institutions (
    id          INTEGER PRIMARY KEY,
    parent_id   INTEGER REFERENCES institutions(id),
    county_code TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    level       TEXT    NOT NULL DEFAULT '',
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    area_code   TEXT    NOT NULL DEFAULT '',
    lead_id     INTEGER REFERENCES institutions(id),
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL
);
CREATE INDEX institutions_parent ON institutions(parent_id);

CREATE TABLE departments (
    id             INTEGER PRIMARY KEY,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    name           TEXT    NOT NULL,
    specialty      TEXT    NOT NULL DEFAULT '',
    head_id        INTEGER,
    UNIQUE (institution_id, name)
);

CREATE TABLE practitioners (
    id             INTEGER PRIMARY KEY,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    department_id  INTEGER REFERENCES departments(id),
    name           TEXT    NOT NULL,
    sex            TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    specialty      TEXT    NOT NULL DEFAULT '',
    license_number TEXT    NOT NULL DEFAULT '',
    practice_since TEXT,
    phone          TEXT    NOT NULL DEFAULT '',
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL
);
CREATE INDEX practitioners_institution ON practitioners(institution_id, name);

CREATE TABLE households (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    village_id  INTEGER NOT NULL REFERENCES institutions(id),
    number      TEXT    NOT NULL,
    address     TEXT    NOT NULL DEFAULT '',
    head_id     INTEGER,
    created_at  TEXT    NOT NULL,
    UNIQUE (county_code, number)
);

CREATE TABLE residents (
    id               INTEGER PRIMARY KEY,
    county_code      TEXT    NOT NULL,
    record_number    TEXT    NOT NULL,
    id_number        TEXT    NOT NULL DEFAULT '',
    name             TEXT    NOT NULL,
    sex              TEXT    NOT NULL,
    birth_date       TEXT    NOT NULL,
    phone            TEXT    NOT NULL DEFAULT '',
    address          TEXT    NOT NULL DEFAULT '',
    village_id       INTEGER NOT NULL REFERENCES institutions(id),
    household_id     INTEGER REFERENCES households(id),
    relation         TEXT    NOT NULL DEFAULT 'head',
    poverty          TEXT    NOT NULL DEFAULT '',
    disability_grade INTEGER NOT NULL DEFAULT 0,
    pregnancy_edd    TEXT,
    status           TEXT    NOT NULL DEFAULT 'active',
    merged_into      INTEGER REFERENCES residents(id),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX residents_record_number ON residents(county_code, record_number);
CREATE INDEX residents_id_number ON residents(county_code, id_number);
CREATE INDEX residents_phone ON residents(county_code, phone) WHERE phone <> '';
CREATE INDEX residents_household ON residents(household_id);
CREATE INDEX residents_village ON residents(village_id, birth_date);

-- Search tokens: name, full pinyin and pinyin initials (resident.SearchTokens),
-- keyed by managing institution so a scoped prefix search is one index range.
CREATE TABLE resident_tokens (
    county_code TEXT    NOT NULL,
    village_id  INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    resident_id INTEGER NOT NULL,
    PRIMARY KEY (village_id, token, resident_id)
) WITHOUT ROWID;
CREATE INDEX resident_tokens_county ON resident_tokens(county_code, token);
CREATE INDEX resident_tokens_resident ON resident_tokens(resident_id);

-- Next personal sequence of the health record number, and of the household number, per village.
CREATE TABLE village_sequences (
    village_id     INTEGER PRIMARY KEY REFERENCES institutions(id),
    next_record    INTEGER NOT NULL DEFAULT 1,
    next_household INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE care_links (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    kind           TEXT    NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    created_by     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT
);
CREATE INDEX care_links_resident ON care_links(resident_id);
CREATE INDEX care_links_institution ON care_links(institution_id, resident_id);

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE,
    role                TEXT    NOT NULL,
    institution_id      INTEGER REFERENCES institutions(id),
    practitioner_id     INTEGER UNIQUE REFERENCES practitioners(id),
    resident_id         INTEGER UNIQUE REFERENCES residents(id),
    password_hash       TEXT    NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        TEXT,
    disabled            INTEGER NOT NULL DEFAULT 0,
    password_changed_at TEXT    NOT NULL,
    last_login_at       TEXT,
    created_at          TEXT    NOT NULL,
    CHECK ((practitioner_id IS NULL) <> (resident_id IS NULL))
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    csrf_token TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    last_seen  TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE audit_events (
    seq            INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    account_id     INTEGER NOT NULL DEFAULT 0,
    username       TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL DEFAULT '',
    institution_id INTEGER NOT NULL DEFAULT 0,
    action         TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL DEFAULT 0,
    county_code    TEXT    NOT NULL DEFAULT '',
    purpose        TEXT    NOT NULL DEFAULT '',
    outcome        TEXT    NOT NULL,
    request_id     TEXT    NOT NULL DEFAULT '',
    detail         TEXT    NOT NULL DEFAULT '',
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_resident ON audit_events(resident_id, seq) WHERE resident_id <> 0;
CREATE INDEX audit_account ON audit_events(account_id, seq);
CREATE INDEX audit_at ON audit_events(at);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- The trail is append-only: the database refuses to change or remove a row.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Bumped on every organisation change so caches of the tree can tell they are stale.
CREATE TABLE org_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO org_version (id, version) VALUES (1, 1);
