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
