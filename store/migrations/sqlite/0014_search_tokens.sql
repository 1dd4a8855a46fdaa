-- The county-wide token index goes: a county-scope name search now reads
-- the primary key one village at a time (village_id IN the county's
-- institutions), which is as fast for a prefix search and saves building
-- and maintaining a second index over every token (4.4 M rows at 1 M
-- residents; 8 s of the bulk load). See store.searchByToken.
DROP INDEX IF EXISTS resident_tokens_county;
DELETE FROM pending_indexes WHERE name = 'resident_tokens_county';
