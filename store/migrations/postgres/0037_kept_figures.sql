-- The family-doctor programme's point figures per village clinic on a day
-- (family.VillageDay: residents, key population, residents and key members
-- under contract, contracted services delivered and due), written by the
-- scheduler's "family figures" duty for today and each month's last day
-- (family.Service.SnapshotDay), so that the county dashboard reads a few
-- hundred rows instead of counting every resident, contract and service on
-- a view (issue 14 §1). Distributed by county_code like the rows it sums.
CREATE TABLE family_village_days (
    county_code  TEXT NOT NULL,
    day          DATE NOT NULL,
    village_id   BIGINT NOT NULL,
    residents    BIGINT NOT NULL,
    key_pop      BIGINT NOT NULL,
    covered      BIGINT NOT NULL,
    covered_key  BIGINT NOT NULL,
    fulfil_num   BIGINT NOT NULL,
    fulfil_den   BIGINT NOT NULL,
    PRIMARY KEY (county_code, day, village_id),
    CHECK (fulfil_num <= fulfil_den)
);
-- One row per county and snapshotted day, written in the same transaction
-- as its villages' rows: a day without one has no snapshot (a county with
-- no villages still has its marker).
CREATE TABLE family_snapshot_days (
    county_code  TEXT NOT NULL,
    day          DATE NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL,
    villages     BIGINT NOT NULL,
    PRIMARY KEY (county_code, day)
);
-- A computed dashboard per county and period (kpi.Kept: every unit's
-- numerators and denominators as JSON), written by the scheduler's
-- "dashboard figures" duty for the periods a viewer can pick, so that a
-- page view reads one row instead of the capability reports (issue 14 §1).
CREATE TABLE kpi_snapshots (
    county_code  TEXT NOT NULL,
    period       TEXT NOT NULL,
    from_day     DATE NOT NULL,
    to_day       DATE NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (county_code, period)
);
