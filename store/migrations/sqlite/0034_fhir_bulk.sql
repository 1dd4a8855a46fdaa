-- SMART Backend Services and FHIR Bulk Data export (issue 12; packages
-- smart and bulkdata). A system client (the provincial platform, a HIS, a
-- lab) is registered by an administrator with its public keys; it signs
-- its own assertions, whose jti are remembered until they expire so that
-- none is accepted twice; the access tokens it is given are kept as their
-- SHA-256 only.
CREATE TABLE fhir_clients (
    id             INTEGER PRIMARY KEY,
    client_id      TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER  NOT NULL DEFAULT 0,
    scopes         TEXT    NOT NULL,
    jwks           TEXT    NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    created_by     INTEGER  NOT NULL,
    created_at     TEXT    NOT NULL
);
CREATE INDEX fhir_clients_county ON fhir_clients(county_code, id);
CREATE TABLE fhir_assertion_ids (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX fhir_assertion_ids_expires ON fhir_assertion_ids(expires_at);
CREATE TABLE fhir_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX fhir_tokens_expires ON fhir_tokens(expires_at);
-- A $export kick-off, run by the scheduler's lease holder; its NDJSON files
-- are kept here in pieces (as uploads are) so that every replica serves
-- them, until expires_at.
CREATE TABLE fhir_exports (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    county_code    TEXT NOT NULL,
    institution_id INTEGER NOT NULL DEFAULT 0,
    level          TEXT NOT NULL,
    group_id       TEXT NOT NULL DEFAULT '',
    types          TEXT NOT NULL,
    since          TEXT,
    request_url    TEXT NOT NULL,
    state          TEXT NOT NULL,
    progress       TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    expires_at     TEXT,
    transaction_at TEXT
);
CREATE INDEX fhir_exports_state ON fhir_exports(state, created_at);
CREATE TABLE fhir_export_files (
    export_id TEXT    NOT NULL REFERENCES fhir_exports(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    type      TEXT    NOT NULL,
    count     INTEGER  NOT NULL,
    size      INTEGER  NOT NULL,
    PRIMARY KEY (export_id, seq)
);
CREATE TABLE fhir_export_pieces (
    export_id TEXT    NOT NULL REFERENCES fhir_exports(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    start_at  INTEGER  NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (export_id, seq, start_at)
);
