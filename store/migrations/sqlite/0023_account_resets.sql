-- Password resets of privileged accounts (issue 18 §2): an administrator
-- cannot set the auditor's or another administrator's password. A reset is
-- requested by one administrator, approved by another, and only then is a
-- one-time link sent to the account's owner; the link's token is stored as
-- its SHA-256 (token_hash, set at approval), valid until expires_at (the
-- approval window before approval, the link's hour after) and used once.
CREATE TABLE account_resets (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    requested_by INTEGER NOT NULL REFERENCES accounts(id),
    created_at   TEXT    NOT NULL,
    approved_by  INTEGER REFERENCES accounts(id),
    approved_at  TEXT,
    token_hash   TEXT    UNIQUE,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT
);
CREATE INDEX account_resets_account ON account_resets(account_id);
