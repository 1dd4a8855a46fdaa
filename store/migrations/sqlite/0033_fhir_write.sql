-- FHIR writes and import (issue 12).
--
-- A resident registered from another system without a GB 11643 identity
-- number (a foreign patient of an imported FHIR bundle, e.g. Synthea)
-- keeps that system's identifiers: one row per (system, value), unique in
-- the county, so a second import of the same patient finds them
-- (conditional create) instead of registering them twice.
CREATE TABLE resident_identifiers (
    county_code TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    PRIMARY KEY (county_code, system, value)
);
CREATE INDEX resident_identifiers_resident ON resident_identifiers(resident_id);

-- When a chronic registration last changed (FHIR Condition meta.lastUpdated,
-- with its version); NULL: not changed since created_at.
ALTER TABLE chronic_registrations ADD COLUMN updated_at TEXT;
