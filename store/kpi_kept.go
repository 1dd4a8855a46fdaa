package store

import (
	"context"
	"encoding/json"
	"time"

	"countycare/care"
	"countycare/kpi"
)

// SaveKept replaces the county's kept dashboard of k.Period (table
// kpi_snapshots, migration 0037).
func (s *Store) SaveKept(ctx context.Context, county string, k *kpi.Kept) error {
	body, err := json.Marshal(k.Values)
	if err != nil {
		return wrap("store.SaveKept", err)
	}
	return wrap("store.SaveKept", s.transactIdempotent(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO kpi_snapshots (county_code, period, from_day, to_day, computed_at, body) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (county_code, period) DO UPDATE SET from_day = excluded.from_day, to_day = excluded.to_day,
			computed_at = excluded.computed_at, body = excluded.body`, county, k.Period, k.From, k.To, s.ts(k.ComputedAt), string(body))
		return err
	}))
}

// LoadKept returns the county's kept dashboard of period.
func (s *Store) LoadKept(ctx context.Context, county, period string) (*kpi.Kept, bool, error) {
	k := &kpi.Kept{Period: period}
	var body string
	err := s.read().row(ctx, `SELECT from_day, to_day, computed_at, body FROM kpi_snapshots WHERE county_code = ? AND period = ?`, county, period).
		Scan(&k.From, &k.To, tsOf(&k.ComputedAt), &body)
	if care.IsCode(wrap("store.LoadKept", err), care.ENOTFOUND) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("store.LoadKept", err)
	}
	if err := json.Unmarshal([]byte(body), &k.Values); err != nil {
		return nil, false, wrap("store.LoadKept", err)
	}
	return k, true, nil
}

// KeptPeriods lists the county's kept periods with when each was computed.
func (s *Store) KeptPeriods(ctx context.Context, county string) (map[string]time.Time, error) {
	rows, err := s.read().query(ctx, `SELECT period, computed_at FROM kpi_snapshots WHERE county_code = ?`, county)
	if err != nil {
		return nil, wrap("store.KeptPeriods", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var p string
		var at time.Time
		if err := rows.Scan(&p, tsOf(&at)); err != nil {
			return nil, wrap("store.KeptPeriods", err)
		}
		out[p] = at
	}
	return out, wrap("store.KeptPeriods", rows.Err())
}
