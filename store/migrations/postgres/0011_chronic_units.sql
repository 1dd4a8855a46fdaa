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
    clinic_id     BIGINT  NOT NULL,
    disease       TEXT    NOT NULL,
    year          BIGINT  NOT NULL,
    managed       BIGINT  NOT NULL DEFAULT 0,
    f0            BIGINT  NOT NULL DEFAULT 0,
    f1            BIGINT  NOT NULL DEFAULT 0,
    f2            BIGINT  NOT NULL DEFAULT 0,
    f3            BIGINT  NOT NULL DEFAULT 0,
    f4            BIGINT  NOT NULL DEFAULT 0,
    f5            BIGINT  NOT NULL DEFAULT 0,
    f6            BIGINT  NOT NULL DEFAULT 0,
    f7            BIGINT  NOT NULL DEFAULT 0,
    f8plus        BIGINT  NOT NULL DEFAULT 0,
    controlled    BIGINT  NOT NULL DEFAULT 0,
    measured      BIGINT  NOT NULL DEFAULT 0,
    ended         BIGINT  NOT NULL DEFAULT 0,
    ended_regular BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, clinic_id, disease, year)
);
