-- The dashboard's records behind the settlement figures (issue 14 §1,
-- store.SettledBills): the bills a township's institutions settled in a
-- period, read by institution, every column the list needs in the index
-- (a year of a busy township is tens of thousands of bills; read from the
-- table they cost a random page each). Without it the query reads every
-- settled visit of the county in the period and keeps a township's part.
CREATE INDEX settlements_institution ON settlements(county_code, institution_id, visit_date)
    INCLUDE (status, id, resident_id, level, visit_type, total, patient, drugs, materials, basic);
