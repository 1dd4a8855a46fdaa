-- Self-service health huts and devices, and sterile treatment packs
-- (issue 17).
--
-- hut_devices: a blood-pressure monitor, glucose meter or scale in a health
-- hut or clinic; its credential is a random token shown once, stored as
-- its SHA-256; bound to one institution; revoked_at ends it.
CREATE TABLE hut_devices (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    kind           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    token_hash     TEXT    NOT NULL,
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    revoked_by     INTEGER NOT NULL DEFAULT 0,
    revoked_at     TEXT
);
CREATE UNIQUE INDEX hut_devices_token ON hut_devices(token_hash);
CREATE INDEX hut_devices_institution ON hut_devices(county_code, institution_id);
-- device_readings: one measurement a device sent, written once per
-- (device, the device's own reading ID); measured_at is the device's
-- clock, received_at the server's. urgent lists the chronic urgent-transfer
-- reasons it met (message keys), alert_id the critical alert it raised.
CREATE TABLE device_readings (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    device_id      INTEGER NOT NULL REFERENCES hut_devices(id),
    device_ref     TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    institution_id INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    measured_at    TEXT    NOT NULL,
    received_at    TEXT    NOT NULL,
    sbp            INTEGER NOT NULL DEFAULT 0,
    dbp            INTEGER NOT NULL DEFAULT 0,
    pulse          INTEGER NOT NULL DEFAULT 0,
    glucose        INTEGER NOT NULL DEFAULT 0,
    fasting        INTEGER NOT NULL DEFAULT 0,
    weight_dg      INTEGER NOT NULL DEFAULT 0,
    height_cm      INTEGER NOT NULL DEFAULT 0,
    urgent         TEXT    NOT NULL DEFAULT '',
    alert_id       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX device_readings_ref ON device_readings(device_id, device_ref);
CREATE INDEX device_readings_resident ON device_readings(county_code, resident_id, measured_at);

-- Sterile treatment packs from the county sterile supply center (消毒供应中心).
-- sterile_pack_types: what the center makes; packaging decides the shelf life
-- (configuration, WS 310.2).
CREATE TABLE sterile_pack_types (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    center_id   INTEGER NOT NULL REFERENCES institutions(id),
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    packaging   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX sterile_pack_types_code ON sterile_pack_types(county_code, code);
-- sterile_orders: a clinic's order of packs of one type.
CREATE TABLE sterile_orders (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    clinic_id    INTEGER NOT NULL REFERENCES institutions(id),
    center_id    INTEGER NOT NULL REFERENCES institutions(id),
    pack_type_id INTEGER NOT NULL REFERENCES sterile_pack_types(id),
    quantity     INTEGER NOT NULL,
    delivered    INTEGER NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL,
    ordered_by   INTEGER NOT NULL,
    ordered_at   TEXT    NOT NULL
);
CREATE INDEX sterile_orders_center ON sterile_orders(county_code, center_id, status, ordered_at);
CREATE INDEX sterile_orders_clinic ON sterile_orders(county_code, clinic_id, ordered_at);
-- sterile_cycles: one load of a sterilizer, its cycle number and the
-- physical, chemical and biological indicator results (pending, pass, fail);
-- a failed indicator recalls the cycle (status recalled).
CREATE TABLE sterile_cycles (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    center_id   INTEGER NOT NULL REFERENCES institutions(id),
    cycle_no    TEXT    NOT NULL,
    sterilizer  TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    physical    TEXT    NOT NULL DEFAULT 'pending',
    chemical    TEXT    NOT NULL DEFAULT 'pending',
    biological  TEXT    NOT NULL DEFAULT 'pending',
    status      TEXT    NOT NULL,
    recalled_at TEXT,
    recorded_by INTEGER NOT NULL
);
CREATE UNIQUE INDEX sterile_cycles_no ON sterile_cycles(county_code, center_id, cycle_no);
-- sterile_packs: one pack (lot: its cycle), from packing to use or return;
-- version is bumped by every step so two scans of one pack move it once.
CREATE TABLE sterile_packs (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    barcode      TEXT    NOT NULL DEFAULT '',
    pack_type_id INTEGER NOT NULL REFERENCES sterile_pack_types(id),
    cycle_id     INTEGER NOT NULL REFERENCES sterile_cycles(id),
    center_id    INTEGER NOT NULL,
    packaging    TEXT    NOT NULL,
    packed_at    TEXT    NOT NULL,
    expires_on   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    order_id     INTEGER NOT NULL DEFAULT 0,
    clinic_id    INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    resident_id  INTEGER NOT NULL DEFAULT 0,
    used_at      TEXT,
    used_by      INTEGER NOT NULL DEFAULT 0,
    returned_at  TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sterile_packs_cycle ON sterile_packs(county_code, cycle_id);
CREATE INDEX sterile_packs_barcode ON sterile_packs(county_code, barcode);
CREATE INDEX sterile_packs_clinic ON sterile_packs(county_code, clinic_id, status, expires_on);
CREATE INDEX sterile_packs_resident ON sterile_packs(county_code, resident_id);
-- sterile_pack_events: every step of a pack, timestamped, with where and who.
CREATE TABLE sterile_pack_events (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    pack_id        INTEGER NOT NULL REFERENCES sterile_packs(id),
    step           TEXT    NOT NULL,
    at             TEXT    NOT NULL,
    institution_id INTEGER NOT NULL,
    account_id     INTEGER NOT NULL,
    resident_id    INTEGER NOT NULL DEFAULT 0,
    detail         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sterile_pack_events_pack ON sterile_pack_events(county_code, pack_id, at);
