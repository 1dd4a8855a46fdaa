-- The audit journal's watermark (issue 18): how far the local append-only
-- journal of read events is inserted into audit_events. It is written in
-- the same transaction as the rows it counts, so a replay after a crash
-- inserts each journaled event exactly once. journal_id is the journal's
-- random id: a watermark is never applied to another journal.
CREATE TABLE audit_journal_mark (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    journal_id     TEXT    NOT NULL,
    journal_offset INTEGER NOT NULL,
    updated_at     TEXT    NOT NULL
);
