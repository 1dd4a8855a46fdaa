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
-- Counted sign-in failures (issue 15), so that every replica sees the
-- same counts: wrong passwords from a client address (kind 'address',
-- 50 in 15 minutes refuse the address), on a known device (kind
-- 'device', subject the device cookie's MAC) and at a session's step-up
-- (kind 'step_up', subject the session's ID). Were they in each
-- process's memory, three replicas would allow three times the failures.
CREATE TABLE auth_failures (
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX auth_failures_subject ON auth_failures(kind, subject, at);
CREATE INDEX auth_failures_at ON auth_failures(at);
