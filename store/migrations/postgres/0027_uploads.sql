-- Resumable uploads (issue 13 §2, package upload): an exam file whose bytes
-- arrive over several requests (tus 1.0). The bytes are kept here, in
-- pieces, rather than on one server's disk, so that any replica can take
-- the next request of an upload; a complete upload is imported into
-- ecg_studies or imaging_instances and its pieces deleted.
CREATE TABLE uploads (
    id               TEXT    PRIMARY KEY,
    account_id       BIGINT  NOT NULL,
    institution_id   BIGINT  NOT NULL,
    county_code      TEXT    NOT NULL,
    resident_id      BIGINT  NOT NULL,
    kind             TEXT    NOT NULL,
    center_id        BIGINT  NOT NULL REFERENCES institutions(id),
    file_name        TEXT    NOT NULL,
    header_name      TEXT    NOT NULL DEFAULT '',
    header           BYTEA   NOT NULL,
    urgent           BOOLEAN NOT NULL DEFAULT FALSE,
    confirm_mismatch BOOLEAN NOT NULL DEFAULT FALSE,
    length           BIGINT  NOT NULL,
    received         BIGINT  NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    result_id        BIGINT  NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (county_code, resident_id) REFERENCES residents(county_code, id)
);
CREATE INDEX uploads_expires ON uploads(expires_at);
-- A piece starts at byte start_at of its upload; pieces follow each other
-- without gaps (AppendUpload writes only at the upload's received offset).
CREATE TABLE upload_pieces (
    upload_id TEXT   NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    start_at  BIGINT NOT NULL,
    data      BYTEA  NOT NULL,
    PRIMARY KEY (upload_id, start_at)
);
