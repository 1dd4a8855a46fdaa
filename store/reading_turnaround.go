package store

import (
	"context"
	"fmt"
	"time"

	"countycare/care"
	"countycare/kpi"
)

// The reading centers' turnaround kept for the dashboard (issue 14 §1,
// table reading_turnaround, migration 0055): per county, month (China
// time, of the signing or the result), institution (the center that read
// it; the lab result's institution), kind and bucket of whole minutes
// (kpi.TurnaroundBucket), the number of reports. Each signed report
// (SaveReadingReport) and lab result (SaveLabResults) adds one in its own
// transaction; the migration and a bulk load (afterBulk) build it from the
// rows with the same buckets in SQL (turnaroundRebuild,
// TestTurnaroundRebuild).

// keepTurnaround counts one report of kind by institution inst that took
// from → to, in tx.
func (s *Store) keepTurnaround(ctx context.Context, tx db, county string, inst int64, kind string, from, to time.Time) error {
	month := to.In(care.Shanghai).Format("2006-01")
	b := kpi.TurnaroundBucket(int(to.Sub(from) / time.Minute))
	_, err := tx.exec(ctx, `INSERT INTO reading_turnaround (county_code, month, center_id, kind, bucket, n) VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (county_code, month, center_id, kind, bucket) DO UPDATE SET n = reading_turnaround.n + 1`, county, month, inst, kind, b)
	return wrap("store.keepTurnaround", err)
}

// turnaroundRebuild is the SQL that builds reading_turnaround from the
// reported studies and the lab results (as migration 0055 does): the
// minutes and the China month per dialect, the buckets of
// kpi.TurnaroundBucket.
func (s *Store) turnaroundRebuild() []string {
	minutes := func(from, to string) string {
		if s.dialect == Postgres {
			return fmt.Sprintf(`GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%s - %s)) / 60))::int`, to, from)
		}
		return fmt.Sprintf(`MAX(0, CAST(ROUND((julianday(%s) - julianday(%s)) * 86400000) AS INTEGER) / 60000)`, to, from)
	}
	month := func(at string) string {
		if s.dialect == Postgres {
			return fmt.Sprintf(`to_char(%s AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')`, at)
		}
		return fmt.Sprintf(`strftime('%%Y-%%m', %s, '+8 hours')`, at)
	}
	bucket := `CASE WHEN m < 60 THEN m WHEN m < 240 THEN 60 + (m - 60) / 5 WHEN m < 1440 THEN 96 + (m - 240) / 30
		WHEN m < 10080 THEN 136 + (m - 1440) / 240 ELSE 172 END`
	return []string{
		`DELETE FROM reading_turnaround`,
		`INSERT INTO reading_turnaround (county_code, month, center_id, kind, bucket, n)
			SELECT county_code, mo, center_id, kind, ` + bucket + `, COUNT(*) FROM (
				SELECT county_code, ` + month("reported_at") + ` AS mo, center_id, kind, ` + minutes("uploaded_at", "reported_at") + ` AS m
				FROM reading_studies WHERE status = 'reported' AND reported_at IS NOT NULL
				UNION ALL
				SELECT county_code, ` + month("resulted_at") + `, clinic_id, 'lab', ` + minutes("collected_at", "resulted_at") + `
				FROM lab_results) x
			GROUP BY county_code, mo, center_id, kind, ` + bucket,
	}
}

// RebuildTurnaround builds the kept turnaround afresh from the studies
// and lab results (after a bulk load; the migration does the same).
func (s *Store) RebuildTurnaround(ctx context.Context) error {
	return s.Transact(ctx, func(tx db) error { return s.rebuildTurnaroundTx(ctx, tx) })
}

func (s *Store) rebuildTurnaroundTx(ctx context.Context, tx db) error {
	for _, q := range s.turnaroundRebuild() {
		if _, err := tx.exec(ctx, q); err != nil {
			return wrap("store.RebuildTurnaround", err)
		}
	}
	return nil
}

// TurnaroundSums returns each institution's kept turnaround histograms
// per kind over the months from from's to to's (kpi.TurnaroundSums).
func (s *Store) TurnaroundSums(ctx context.Context, county string, from, to care.Date) (map[int64]kpi.TurnaroundCounts, error) {
	rows, err := s.read().query(ctx, `SELECT center_id, kind, bucket, SUM(n) FROM reading_turnaround
		WHERE county_code = ? AND month >= ? AND month <= ? GROUP BY center_id, kind, bucket`,
		county, fmt.Sprintf("%04d-%02d", from.Year, from.Month), fmt.Sprintf("%04d-%02d", to.Year, to.Month))
	if err != nil {
		return nil, wrap("store.TurnaroundSums", err)
	}
	defer rows.Close()
	out := map[int64]kpi.TurnaroundCounts{}
	for rows.Next() {
		var inst int64
		var kind string
		var b, n int
		if err := rows.Scan(&inst, &kind, &b, &n); err != nil {
			return nil, wrap("store.TurnaroundSums", err)
		}
		if b < 0 || b >= kpi.TurnaroundBuckets {
			continue
		}
		c := out[inst]
		if c == nil {
			c = kpi.TurnaroundCounts{}
			out[inst] = c
		}
		h := c[kind]
		if h == nil {
			h = make(kpi.Histogram, kpi.TurnaroundBuckets)
			c[kind] = h
		}
		h[b] += n
	}
	return out, wrap("store.TurnaroundSums", rows.Err())
}

// TurnaroundReports returns the reports behind a turnaround figure
// (kpi.TurnaroundRecordSource): the studies of kind the institutions (as
// reading centers) signed in [from, to), index
// reading_studies_center_reported; for kpi.TATLab the lab results of the
// institutions resulted in [from, to).
func (s *Store) TurnaroundReports(ctx context.Context, county, kind string, institutions []int64, from, to time.Time) ([]kpi.TurnaroundRow, error) {
	const op = "store.TurnaroundReports"
	if len(institutions) == 0 {
		return nil, nil
	}
	q := `SELECT id, resident_id, center_id, modality, uploaded_at, reported_at FROM reading_studies
		WHERE county_code = ? AND kind = ? AND status = 'reported' AND reported_at >= ? AND reported_at < ? AND center_id IN (` + placeholders(len(institutions)) + `)`
	args := []any{county, kind, s.ts(from), s.ts(to)}
	if kind == kpi.TATLab {
		q = `SELECT id, resident_id, clinic_id, analyte, collected_at, resulted_at FROM lab_results
			WHERE county_code = ? AND resulted_at >= ? AND resulted_at < ? AND clinic_id IN (` + placeholders(len(institutions)) + `)`
		args = []any{county, s.ts(from), s.ts(to)}
	}
	rows, err := s.read().query(ctx, q, append(args, int64Args(institutions)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []kpi.TurnaroundRow
	for rows.Next() {
		var r kpi.TurnaroundRow
		if err := rows.Scan(&r.ID, &r.ResidentID, &r.Institution, &r.Modality, tsOf(&r.From), tsOf(&r.To)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}
