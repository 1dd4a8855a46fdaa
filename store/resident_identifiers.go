package store

import (
	"context"
	"strings"

	"countycare/care"
	"countycare/resident"
)

// insertForeignIDs stores a new resident's foreign identifiers; one held
// by another resident of the county is ECONFLICT.
func (s *Store) insertForeignIDs(ctx context.Context, tx db, r *resident.Resident) error {
	const op = "store.CreateResident"
	for _, id := range r.ForeignIDs {
		if _, err := tx.exec(ctx, `INSERT INTO resident_identifiers (county_code, system, value, resident_id) VALUES (?, ?, ?, ?)`,
			r.CountyCode, id.System, id.Value, r.ID); err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "resident.foreign_id_taken", Op: op, Args: []any{id.System + "|" + id.Value},
					Fields: []care.FieldError{{Field: "identifier", Key: "resident.foreign_id_taken", Args: []any{id.System + "|" + id.Value}}}}
			}
			return wrap(op, err)
		}
	}
	return nil
}

// ForeignIDs returns the foreign identifiers of residents, by id
// (resident.ForeignIDRepository).
func (s *Store) ForeignIDs(ctx context.Context, residentIDs []int64) (map[int64][]resident.ForeignID, error) {
	out := map[int64][]resident.ForeignID{}
	for len(residentIDs) > 0 {
		batch := residentIDs[:min(len(residentIDs), 500)]
		residentIDs = residentIDs[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.read().query(ctx, `SELECT resident_id, system, value FROM resident_identifiers WHERE resident_id IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(batch)), ", ")+`) ORDER BY resident_id, system, value`, args...)
		if err != nil {
			return nil, wrap("store.ForeignIDs", err)
		}
		for rows.Next() {
			var rid int64
			var id resident.ForeignID
			if err := rows.Scan(&rid, &id.System, &id.Value); err != nil {
				rows.Close()
				return nil, wrap("store.ForeignIDs", err)
			}
			out[rid] = append(out[rid], id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrap("store.ForeignIDs", err)
		}
	}
	return out, nil
}

// ResidentByForeignID returns the resident holding id in the county;
// ENOTFOUND if none (resident.ForeignIDRepository).
func (s *Store) ResidentByForeignID(ctx context.Context, county string, id resident.ForeignID) (int64, error) {
	var rid int64
	err := s.read().row(ctx, `SELECT resident_id FROM resident_identifiers WHERE county_code = ? AND system = ? AND value = ?`, county, id.System, id.Value).Scan(&rid)
	return rid, wrap("store.ResidentByForeignID", err)
}

var _ resident.ForeignIDRepository = (*Store)(nil)
