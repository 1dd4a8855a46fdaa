-- A resident's reports (store.ResidentReadings: the resident's page, FHIR
-- DiagnosticReport?patient and Patient/$everything) were found by scanning
-- every report of the county: at 1 M residents that was 8 ms a search.
CREATE INDEX reading_reports_resident ON reading_reports(county_code, resident_id, id);
