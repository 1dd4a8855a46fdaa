-- Receipts of the village doctor app's sync (issue 13 §1): one row per
-- change a device sent, keyed by the account and the change's
-- client-generated ID, so a retried batch creates nothing twice. The row
-- is claimed (status 'pending') before the change is applied and holds
-- its outcome afterwards; payload_hash detects a client ID reused for a
-- different record. result is the outcome as the device was told it.
CREATE TABLE sync_receipts (
    account_id   BIGINT  NOT NULL,
    client_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    payload_hash TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    result       TEXT    NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE INDEX sync_receipts_created ON sync_receipts(created_at);
-- The pull sends residents and visits changed since the device's cursor.
CREATE INDEX residents_village_updated ON residents(village_id, updated_at);
CREATE INDEX chronic_visits_created ON chronic_visits(county_code, created_at);
