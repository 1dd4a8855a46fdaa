-- One-time password-reset links for privileged accounts (issue 18 §2): an
-- administrator cannot set the auditor's or another administrator's
-- password; the reset sends the account's owner a link, stored here as
-- the SHA-256 of its token, valid until expires_at and used at most once.
CREATE TABLE account_resets (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    token_hash   TEXT    NOT NULL UNIQUE,
    requested_by INTEGER NOT NULL REFERENCES accounts(id),
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT
);
CREATE INDEX account_resets_account ON account_resets(account_id);
