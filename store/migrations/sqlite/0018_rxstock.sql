-- Formulary stock, supply orders, dispensing and fulfilment (issue #7).
-- Stock is kept per lot (batch + expiry); the movements
-- ledger sums to each lot's quantity, which can never go below zero.

CREATE TABLE stock_lots (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    drug_code      TEXT    NOT NULL,
    batch          TEXT    NOT NULL,
    expiry         TEXT    NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity >= 0),
    UNIQUE (institution_id, drug_code, batch, expiry)
);
CREATE INDEX stock_lots_drug ON stock_lots(institution_id, drug_code, expiry);

CREATE TABLE stock_movements (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    lot_id         INTEGER NOT NULL REFERENCES stock_lots(id),
    drug_code      TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    delta          INTEGER NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    ref            TEXT    NOT NULL DEFAULT '',
    account_id     INTEGER,
    at             TEXT    NOT NULL
);
CREATE INDEX stock_movements_inst ON stock_movements(institution_id, at);
CREATE INDEX stock_movements_kind ON stock_movements(institution_id, kind, at);

CREATE TABLE stock_thresholds (
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    drug_code      TEXT    NOT NULL,
    min_units      INTEGER NOT NULL DEFAULT 0,
    min_cover_days INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (institution_id, drug_code)
);

CREATE TABLE stock_alerts (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL,
    drug_code      TEXT    NOT NULL,
    created_at     TEXT    NOT NULL
);
CREATE INDEX stock_alerts_drug ON stock_alerts(institution_id, drug_code, created_at);

CREATE TABLE supply_orders (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    clinic_id   INTEGER NOT NULL REFERENCES institutions(id),
    supplier_id INTEGER,
    status      TEXT    NOT NULL,
    lines       TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    history     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX supply_orders_clinic ON supply_orders(county_code, clinic_id, created_at);
CREATE INDEX supply_orders_status ON supply_orders(county_code, status, created_at);

CREATE TABLE rx_fulfilments (
    prescription_id  INTEGER PRIMARY KEY REFERENCES prescriptions(id),
    county_code      TEXT    NOT NULL,
    resident_id      INTEGER NOT NULL REFERENCES residents(id),
    institution_id   INTEGER NOT NULL REFERENCES institutions(id),
    pickup_clinic_id INTEGER,
    mode             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    settlement_id    INTEGER,
    total_fen        INTEGER NOT NULL,
    patient_fen      INTEGER NOT NULL,
    body             TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX rx_fulfilments_resident ON rx_fulfilments(county_code, resident_id, created_at);
CREATE INDEX rx_fulfilments_inst ON rx_fulfilments(institution_id, created_at);
CREATE INDEX rx_fulfilments_pickup ON rx_fulfilments(pickup_clinic_id, created_at);
