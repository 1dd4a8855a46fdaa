-- The dashboard's prescribing group (issue 14 §1: review outcomes,
-- antibiotic and injection rates per institution). Each prescription keeps
-- its monitoring classes as signed (rx.Classes: 1 an antimicrobial line,
-- 2 an injection line), so that the dashboard figures duty sums them per
-- prescribing institution without reading the prescription's body.
-- NULL: signed before this migration. The classes come from the formulary
-- (rx/kb, which a county may replace), which SQL cannot read: the duty's
-- first step classifies these rows in batches (store.ClassifyPrescriptions,
-- index prescriptions_unclassified), and until then the rates count
-- classified rows only.
ALTER TABLE prescriptions ADD COLUMN rx_classes INTEGER;
CREATE INDEX prescriptions_unclassified ON prescriptions(id) WHERE rx_classes IS NULL;
-- The group sums a county's prescriptions of a period by institution from
-- this index alone (covering: status and classes in it; on the 1 M demo
-- county a year's 456 k prescriptions are summed in 0.3 s instead of 10 s
-- of row lookups).
CREATE INDEX prescriptions_signed ON prescriptions(county_code, signed_at, institution_id, status, rx_classes);
-- A period kept before the group joined is kept again by the duty's next
-- run (kpi.KeptDue: not kept, so due) instead of showing "no data" for the
-- new indicators until it is restated.
DELETE FROM kpi_snapshots;
