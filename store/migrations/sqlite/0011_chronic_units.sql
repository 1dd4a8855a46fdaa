-- Per-unit counters of chronic disease management (issue #4): one row per
-- village clinic, disease and calendar year, moved by every follow-up,
-- enrolment and status change in the same transaction, so the indicators
-- of a calendar year or the year to date are read from a handful of rows
-- (chronic.UnitYear documents each column). f0 … f7 count patients by
-- face-to-face visits in the year, f8plus 8 or more.
--
-- The row (county_code, clinic_id = 0, disease = '', year) marks a year whose
-- counters exist for the whole county: a year without it (a new year, or a
-- past one never read) is computed from chronic_registrations and
-- chronic_years by the first transaction that needs it. A recompute
-- (--apply) and the demo rebuild every row.
CREATE TABLE chronic_unit_years (
    county_code   TEXT    NOT NULL,
    clinic_id     INTEGER  NOT NULL,
    disease       TEXT    NOT NULL,
    year          INTEGER  NOT NULL,
    managed       INTEGER  NOT NULL DEFAULT 0,
    f0            INTEGER  NOT NULL DEFAULT 0,
    f1            INTEGER  NOT NULL DEFAULT 0,
    f2            INTEGER  NOT NULL DEFAULT 0,
    f3            INTEGER  NOT NULL DEFAULT 0,
    f4            INTEGER  NOT NULL DEFAULT 0,
    f5            INTEGER  NOT NULL DEFAULT 0,
    f6            INTEGER  NOT NULL DEFAULT 0,
    f7            INTEGER  NOT NULL DEFAULT 0,
    f8plus        INTEGER  NOT NULL DEFAULT 0,
    controlled    INTEGER  NOT NULL DEFAULT 0,
    measured      INTEGER  NOT NULL DEFAULT 0,
    ended         INTEGER  NOT NULL DEFAULT 0,
    ended_regular INTEGER  NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, clinic_id, disease, year)
);
