package store

import (
	"context"
	"time"

	"countycare/care"
	"countycare/family"
)

// SaveVillageDays replaces the county's family figures of day (table
// family_village_days, migration 0037) and its marker row, in one
// transaction: a reader sees the old day or the new one, never half.
func (s *Store) SaveVillageDays(ctx context.Context, county string, day care.Date, days []family.VillageDay, at time.Time) error {
	return wrap("store.SaveVillageDays", s.transactIdempotent(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM family_village_days WHERE county_code = ? AND day = ?`, county, day); err != nil {
			return err
		}
		for rest := days; len(rest) > 0; {
			n := min(len(rest), 100)
			args := make([]any, 0, n*9)
			q := `INSERT INTO family_village_days (county_code, day, village_id, residents, key_pop, covered, covered_key, fulfil_num, fulfil_den) VALUES `
			for i, d := range rest[:n] {
				if i > 0 {
					q += ", "
				}
				q += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
				args = append(args, county, day, d.VillageID, d.Residents, d.Key, d.Covered, d.CoveredKey, d.FulfilNum, d.FulfilDen)
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		_, err := tx.exec(ctx, `INSERT INTO family_snapshot_days (county_code, day, computed_at, villages) VALUES (?, ?, ?, ?)
			ON CONFLICT (county_code, day) DO UPDATE SET computed_at = excluded.computed_at, villages = excluded.villages`, county, day, s.ts(at), len(days))
		return err
	}))
}

// VillageDays returns the kept family figures of day for the clinics, and
// whether the county's day was snapshotted at all.
func (s *Store) VillageDays(ctx context.Context, county string, clinics []int64, day care.Date) ([]family.VillageDay, bool, error) {
	const op = "store.VillageDays"
	var n int
	if err := s.read().row(ctx, `SELECT COUNT(*) FROM family_snapshot_days WHERE county_code = ? AND day = ?`, county, day).Scan(&n); err != nil || n == 0 {
		return nil, false, wrap(op, err)
	}
	want := make(map[int64]bool, len(clinics))
	for _, c := range clinics {
		want[c] = true
	}
	rows, err := s.read().query(ctx, `SELECT village_id, residents, key_pop, covered, covered_key, fulfil_num, fulfil_den FROM family_village_days
		WHERE county_code = ? AND day = ? ORDER BY village_id`, county, day)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	defer rows.Close()
	var out []family.VillageDay
	for rows.Next() {
		var d family.VillageDay
		if err := rows.Scan(&d.VillageID, &d.Residents, &d.Key, &d.Covered, &d.CoveredKey, &d.FulfilNum, &d.FulfilDen); err != nil {
			return nil, false, wrap(op, err)
		}
		if want[d.VillageID] {
			out = append(out, d)
		}
	}
	return out, true, wrap(op, rows.Err())
}

// SnapshotDays lists the county's days with kept family figures in [from, to].
func (s *Store) SnapshotDays(ctx context.Context, county string, from, to care.Date) ([]care.Date, error) {
	rows, err := s.read().query(ctx, `SELECT day FROM family_snapshot_days WHERE county_code = ? AND day BETWEEN ? AND ? ORDER BY day`, county, from, to)
	if err != nil {
		return nil, wrap("store.SnapshotDays", err)
	}
	defer rows.Close()
	var out []care.Date
	for rows.Next() {
		var d care.Date
		if err := rows.Scan(&d); err != nil {
			return nil, wrap("store.SnapshotDays", err)
		}
		out = append(out, d)
	}
	return out, wrap("store.SnapshotDays", rows.Err())
}
