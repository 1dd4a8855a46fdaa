package store

import (
	"context"

	"countycare/kpi"
)

// Registrants returns the resident of each chronic registration asked for
// (the dashboard's drill-down to records, kpi.Service.Records): one page
// of registrations, by primary key.
func (s *Store) Registrants(ctx context.Context, county string, ids []int64) (map[int64]kpi.Registrant, error) {
	const op = "store.Registrants"
	out := make(map[int64]kpi.Registrant, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.read().query(ctx, `SELECT g.id, r.id, r.name, r.id_number
		FROM chronic_registrations g JOIN residents r ON r.id = g.resident_id
		WHERE g.county_code = ? AND g.id IN (`+placeholders(len(ids))+`)`, append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var w kpi.Registrant
		if err := rows.Scan(&id, &w.ResidentID, &w.Name, &w.IDNumber); err != nil {
			return nil, wrap(op, err)
		}
		out[id] = w
	}
	return out, wrap(op, rows.Err())
}
