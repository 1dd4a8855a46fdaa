-- The resident's own record (issue 13 §4): sign-in by phone and a
-- one-time text-message code, the resident's consent to an account, and
-- proxies (a guardian for a child, a family member for an elderly
-- resident, someone an adult chose).
--
-- A code is kept only as a salted SHA-256 (code_hash), works once
-- (used_at), until expires_at, and for at most a few wrong tries
-- (attempts); requests are counted per number and per client address in
-- auth_failures (kinds 'otp_phone', 'otp_address') so replicas share the
-- limits.
CREATE TABLE signin_codes (
    id         INTEGER PRIMARY KEY,
    phone      TEXT        NOT NULL,
    salt       TEXT        NOT NULL,
    code_hash  TEXT        NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts   INTEGER     NOT NULL DEFAULT 0,
    used_at    TEXT,
    ip         TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX signin_codes_phone ON signin_codes(phone, created_at);
CREATE INDEX signin_codes_expiry ON signin_codes(expires_at);

-- The resident's consent to an account of their own, as recorded by the
-- village doctor at registration (or given by claiming it with the phone
-- on their record).
CREATE TABLE signin_consents (
    resident_id INTEGER      PRIMARY KEY,
    account_id  INTEGER      NOT NULL REFERENCES accounts(id),
    method      TEXT        NOT NULL, -- 'registration' or 'claimed'
    recorded_by INTEGER      NOT NULL DEFAULT 0, -- the staff account; 0 when claimed
    consent_at  TEXT NOT NULL
);

-- Proxy grants: proxy_id (a resident with an account) may view ward_id's
-- record, each access audited with purpose 'proxy'. A guardian's grant
-- ends at the ward's 18th birthday (expires_at).
CREATE TABLE proxy_grants (
    id          INTEGER PRIMARY KEY,
    county_code TEXT        NOT NULL,
    ward_id     INTEGER      NOT NULL,
    proxy_id    INTEGER      NOT NULL,
    kind        TEXT        NOT NULL, -- guardian, family, chosen
    granted_by  INTEGER      NOT NULL, -- account
    granted_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    revoked_by  INTEGER      NOT NULL DEFAULT 0
);
CREATE INDEX proxy_grants_proxy ON proxy_grants(proxy_id) WHERE revoked_at IS NULL;
CREATE INDEX proxy_grants_ward ON proxy_grants(ward_id);
CREATE UNIQUE INDEX proxy_grants_live ON proxy_grants(ward_id, proxy_id) WHERE revoked_at IS NULL;

-- Whose record a session is viewing (a proxy's switch); NULL: the
-- account's own. Checked against a live grant on every lookup.
ALTER TABLE sessions ADD COLUMN acting_resident_id BIGINT;

-- Sign-in finds the record by phone alone (the county is not known yet).
CREATE INDEX residents_phone_only ON residents(phone) WHERE phone <> '';
