-- The dashboard's records behind the settlement figures (issue 14 §1,
-- store.SettledBills): the bills a township's institutions settled in a
-- period, read by institution. Without it the query reads every settled
-- visit of the county in the period (settlements_date) and keeps a
-- township's twentieth.
CREATE INDEX settlements_institution ON settlements(county_code, institution_id, visit_date);
