-- Key images (关键图像) of an imaging study in the reading workflow: the
-- frame a reader marks, the window it was seen with, the measurements the
-- server computed on it (reading.Measurement as JSON) and a note (issue 16,
-- "key images saved into the report"). Saved by the reader holding the
-- study, before signing; center_id is the reader's diagnosis center.
CREATE TABLE reading_key_images (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    study_id      INTEGER NOT NULL REFERENCES reading_studies(id),
    instance_id   INTEGER NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    center_id     INTEGER NOT NULL,
    frame         INTEGER NOT NULL,
    window_center REAL,
    window_width  REAL,
    measurements  TEXT    NOT NULL,
    note          TEXT    NOT NULL DEFAULT '',
    created_by    INTEGER NOT NULL,
    creator_name  TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    CHECK (frame >= 0)
);
CREATE INDEX reading_key_images_study ON reading_key_images(county_code, study_id);
