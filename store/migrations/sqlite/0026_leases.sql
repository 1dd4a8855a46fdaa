-- Leases of the scheduled duties (issue 15): many identical `serve`
-- replicas share one database and only the holder of a duty's lease runs
-- it (consultation and reading deadlines, critical-value escalation, the
-- outbox, housekeeping). A lease is held until expires_at by the
-- database's clock; the holder renews it well before, and a replica that
-- dies stops renewing, so another takes the lease within the lease time.
-- last_run_at is when a periodic duty last ran, so a replica that takes
-- a daily job over does not run it again before its day is up.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE TABLE duty_runs (
    name        TEXT PRIMARY KEY,
    last_run_at TEXT NOT NULL
);
