-- The 65+ roster kept on rows (issue 17): each resident's last elderly
-- check-up date on the resident's row, set in the check-up's transaction
-- (store.CreateCheckup) and backfilled here. The roster counts, filters
-- and orders its residents by status from the index alone
-- (store.ElderlyRoster with elderly.Config.Bounds) and reads only the
-- rows of the page shown, instead of every 65+ resident of a township
-- with a look-up of their check-ups. Turning 65 needs no write: a
-- resident's eligibility and, never checked, the day their window opened
-- follow from the birth date, which the index holds (the lazy rule).
ALTER TABLE residents ADD COLUMN elderly_last TEXT;
UPDATE residents SET elderly_last = x.last
    FROM (SELECT resident_id, MAX(date) AS last FROM elderly_checkups GROUP BY resident_id) AS x
    WHERE x.resident_id = residents.id;
DROP INDEX residents_village_status;
CREATE INDEX residents_elderly ON residents(village_id, status, birth_date, elderly_last, county_code);
-- The county's editions of the health-education advice library (issue
-- 17): each change by the administrator on /healthedu/library is a new
-- edition (edu_editions, numbered from 1 per county: edition 1 is the
-- configured file's items copied at the first change). An item belongs to
-- the editions from since_edition up to, not including, until_edition (NULL: current);
-- an edit ends the item and adds its new text. Prescriptions keep the
-- items and the edition they were issued with.
CREATE TABLE edu_editions (
    county_code TEXT    NOT NULL,
    edition     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    by_account  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (county_code, edition)
);
CREATE TABLE edu_advice (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    zh          TEXT    NOT NULL,
    en          TEXT    NOT NULL DEFAULT '',
    since_edition INTEGER NOT NULL,
    until_edition INTEGER,
    by_account  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX edu_advice_current ON edu_advice(county_code, until_edition, prefix, code);
