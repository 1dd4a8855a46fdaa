package store

import (
	"context"
	"time"

	"countycare/chronic"
	"countycare/resident"
)

// ChangedSince streams, in id order, each resident of the county whose
// record, chronic registrations or follow-up visits changed at or after
// since, with their foreign identifiers, registrations and visits (the
// last 1,000 of each registration), for the command-line FHIR export
// (fhir.ExportSource). The selection scans the county's rows (no index
// on the times): a tool for an operator, not the Bulk Data $export.
func (s *Store) ChangedSince(ctx context.Context, county string, since time.Time,
	fn func(r *resident.Resident, regs []chronic.Registration, visits []chronic.StoredVisit) error) error {
	const op = "store.ChangedSince"
	at := s.ts(since)
	rows, err := s.read().query(ctx, `SELECT id FROM residents WHERE county_code = ? AND updated_at >= ?
		UNION SELECT resident_id FROM chronic_registrations WHERE county_code = ? AND (created_at >= ? OR updated_at >= ?)
		UNION SELECT resident_id FROM chronic_visits WHERE county_code = ? AND created_at >= ?
		ORDER BY 1`, county, at, county, at, at, county, at)
	if err != nil {
		return wrap(op, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return wrap(op, err)
		}
		ids = append(ids, id)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return wrap(op, err)
	}
	for _, id := range ids {
		r, err := s.Resident(ctx, id)
		if err != nil {
			return err
		}
		fids, err := s.ForeignIDs(ctx, []int64{id})
		if err != nil {
			return err
		}
		r.ForeignIDs = fids[id]
		regs, err := s.Registrations(ctx, county, id)
		if err != nil {
			return err
		}
		var visits []chronic.StoredVisit
		for _, g := range regs {
			vs, err := s.Visits(ctx, g.ID, 1000)
			if err != nil {
				return err
			}
			visits = append(visits, vs...)
		}
		if err := fn(r, regs, visits); err != nil {
			return err
		}
	}
	return nil
}
