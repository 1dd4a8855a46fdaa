package store

import (
	"context"
	"time"

	"countycare/critical"
	"countycare/reading"
)

// UnalertedCriticalReports lists reports and addenda marked critical,
// signed in [from, to], whose study has no critical-value alert yet (the
// raise after the report's commit did not happen: a crash, an error), at
// most limit, oldest first.
func (s *Store) UnalertedCriticalReports(ctx context.Context, from, to time.Time, limit int) ([]reading.CriticalFinding, error) {
	const op = "store.UnalertedCriticalReports"
	crit := `rr.critical = 1`
	if s.dialect == Postgres {
		crit = `rr.critical`
	}
	rows, err := s.read().query(ctx, `SELECT rs.county_code, rs.kind, rs.id, rr.id, rs.resident_id, rs.clinic_id, rs.ordered_by, rr.critical_text, rr.signed_at, rr.signed_by
		FROM reading_reports rr JOIN reading_studies rs ON rs.county_code = rr.county_code AND rs.id = rr.study_id
		WHERE `+crit+` AND rr.signed_at >= ? AND rr.signed_at <= ?
		AND NOT EXISTS (SELECT 1 FROM critical_alerts a WHERE a.county_code = rs.county_code AND a.source_id = rs.id AND a.finding_key = rr.critical_text
			AND a.source_kind = CASE rs.kind WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? WHEN ? THEN ? ELSE '' END)
		ORDER BY rr.signed_at, rr.id LIMIT ?`, s.ts(from), s.ts(to),
		reading.KindECG, critical.SourceECGReport, reading.KindImaging, critical.SourceImagingReport,
		reading.KindPhoto, critical.SourcePhotoReport, reading.KindFetal, critical.SourceFetalReport, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.CriticalFinding
	for rows.Next() {
		var f reading.CriticalFinding
		var kind string
		if err := rows.Scan(&f.County, &kind, &f.SourceID, &f.ReportID, &f.ResidentID, &f.ClinicID, &f.OrderedBy, &f.Finding, tsOf(&f.At), &f.SignedBy); err != nil {
			return nil, wrap(op, err)
		}
		f.SourceKind = "reading." + kind
		out = append(out, f)
	}
	return out, wrap(op, rows.Err())
}
