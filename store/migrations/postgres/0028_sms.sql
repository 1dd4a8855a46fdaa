-- Text messages that really go out (issue 13 §3): a message carries its
-- template parameters, what it is about (ref: "critical:12"), who answers
-- for it (practitioner_id, institution_id) and, once sent, the provider's
-- ID and the delivery state from its receipt; next_attempt_at spaces the
-- retries. sms_quota holds the per-number limits so replicas share them.
ALTER TABLE outbox ADD COLUMN params          TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN ref             TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN practitioner_id BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN institution_id  BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN provider        TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN provider_id     TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN delivery        TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN delivered_at    TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN escalation      TEXT    NOT NULL DEFAULT '';
CREATE INDEX outbox_ref ON outbox(ref);
CREATE INDEX outbox_receipt ON outbox(provider, delivery, sent_at) WHERE delivery = 'pending';
CREATE INDEX outbox_provider_id ON outbox(provider, provider_id) WHERE provider_id <> '';

CREATE TABLE sms_quota (
    recipient_hash TEXT    NOT NULL, -- SHA-256 of the number
    window_start   TIMESTAMPTZ NOT NULL,
    minutes        INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (recipient_hash, minutes, window_start)
);
CREATE INDEX sms_quota_expiry ON sms_quota(expires_at);
