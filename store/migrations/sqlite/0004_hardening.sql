-- The audit chain's head is signed (audit.HeadMAC); a chain written before
-- this migration gets its signature from the next appended row, and
-- verify-audit reports the unsigned head until then.
ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- Secondary indexes dropped for a bulk load, kept here until rebuilt, so a
-- load that dies half-way leaves the definitions to restore (store.Open).
CREATE TABLE pending_indexes (
    name TEXT PRIMARY KEY,
    def  TEXT NOT NULL
);
