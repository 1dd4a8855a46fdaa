package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// A year of one county's reads at the seed volumes of issue #5: 71,296
// ECGs and 26,322 images, one every 323 s; the last 2,000 still open.
const (
	benchYear = 71296 + 26322
	benchOpen = 2000
	benchStep = 323 // seconds between uploads
)

var benchStart = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)

type nopAudit struct{}

func (nopAudit) Record(context.Context, audit.Event) {}

// benchReading opens a store of dialect d with a small demo county and a
// year of studies at the reader's center, and returns the workflow and
// the reader.
func benchReading(b *testing.B, d store.Dialect) (*store.Store, *reading.Workflow, care.Actor) {
	b.Helper()
	ctx := context.Background()
	now := benchStart.Add(benchYear * benchStep * time.Second)
	st := testdb.Open(b, d, func() time.Time { return now })
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 500, Villages: 4, VillageDoctors: 8, Now: now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	orgs := &org.Service{Repo: st, Now: func() time.Time { return now }}
	accts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: func() time.Time { return now }, Orgs: orgs}
	actors := map[care.Role]care.Actor{}
	for _, l := range res.Logins {
		tok, _, err := accts.Login(ctx, account.Credentials{Username: l.Username, Password: l.Password})
		if err != nil {
			b.Fatal(err)
		}
		_, a, _ := accts.Authenticate(ctx, tok)
		actors[l.Role] = a
	}
	rd, vd := actors[care.RoleReader], actors[care.RoleVillageDoctor]
	rs := &resident.Service{Repo: st, Orgs: orgs, Audit: nopAudit{}, Now: func() time.Time { return now }}
	people, _, err := rs.Search(ctx, vd, "", resident.Filter{Limit: 1})
	if err != nil || len(people) == 0 {
		b.Fatal("no resident", err)
	}
	at := func(expr string) string { // uploaded_at + expr seconds, in the dialect's form
		if d == store.SQLite {
			return fmt.Sprintf(`strftime('%%Y-%%m-%%dT%%H:%%M:%%S', '%s', '+' || (%s) || ' seconds') || '.000000Z'`, benchStart.Format("2006-01-02 15:04:05"), expr)
		}
		return fmt.Sprintf(`TIMESTAMPTZ '%s+00' + (%s) * INTERVAL '1 second'`, benchStart.Format("2006-01-02 15:04:05"), expr)
	}
	seed := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		INSERT INTO reading_studies (county_code, kind, source_key, modality, resident_id, clinic_id, ordered_by, center_id, urgent, priority, preread,
			status, uploaded_at, due_at, reported_at, reported_by, reported_name, report_normal, version)
		SELECT '%s', CASE WHEN i %% 100 < 73 THEN 'ecg' ELSE 'imaging' END, 'bench-' || i,
			CASE WHEN i %% 100 < 73 THEN 'ECG' WHEN i %% 100 < 88 THEN 'DR' WHEN i %% 100 < 95 THEN 'US' WHEN i %% 100 < 98 THEN 'CT' ELSE 'MR' END,
			%d, %d, %d, %d, i %% 50 = 0, i %% 4, CASE WHEN i %% 100 >= 73 THEN '' WHEN i %% 3 = 0 THEN 'abnormal' ELSE 'normal' END,
			CASE WHEN i >= %d THEN 'waiting' ELSE 'reported' END, %s, %s, CASE WHEN i >= %d THEN NULL ELSE %s END, %d, 'bench', i %% 10 <> 0, 1 FROM n`,
		benchYear-1, people[0].CountyCode, people[0].ID, vd.InstitutionID, vd.AccountID, rd.InstitutionID, benchYear-benchOpen,
		at(fmt.Sprintf("i * %d", benchStep)), at(fmt.Sprintf("i * %d + 900", benchStep)), benchYear-benchOpen, at(fmt.Sprintf("i * %d + 600 + (i %% 40) * 60", benchStep)), rd.AccountID)
	if err := st.ExecForTest(ctx, seed); err != nil {
		b.Fatalf("seed studies: %v", err)
	}
	if err := st.ExecForTest(ctx, `INSERT INTO reading_reports (county_code, study_id, resident_id, kind, parent_id, template, fields, normal, critical, critical_text,
		signed_by, signer_name, signed_at, seal) SELECT county_code, id, resident_id, 'report', 0, modality, '{}', report_normal, false, '', reported_by, reported_name, reported_at, ''
		FROM reading_studies WHERE status = 'reported'`); err != nil {
		b.Fatalf("seed reports: %v", err)
	}
	if d == store.Postgres {
		if err := st.ExecForTest(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	wf := &reading.Workflow{Repo: st, Audit: nopAudit{}, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Now: func() time.Time { return now }}
	return st, wf, rd
}

// BenchmarkReadingWorklist: the reader's worklist (200 rows) of a center
// holding a year of studies, 2,000 of them open.
func BenchmarkReadingWorklist(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			_, wf, rd := benchReading(b, d)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if items, err := wf.Worklist(ctx, rd, "", 200); err != nil || len(items) != 200 {
					b.Fatal(len(items), err)
				}
			}
		})
	}
}

// BenchmarkReadingIndicatorsYear: the indicators of a year (97,618 studies).
func BenchmarkReadingIndicatorsYear(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			_, wf, rd := benchReading(b, d)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				in, err := wf.Indicators(ctx, rd, benchStart, benchStart.AddDate(1, 0, 1))
				total := 0
				for _, c := range in.ByModality {
					total += c.Studies
				}
				if err != nil || total != benchYear {
					b.Fatal(in, err)
				}
			}
		})
	}
}

// BenchmarkReadingClaimRelease: claim and release one study (two
// version-guarded updates, each with its audit row).
func BenchmarkReadingClaimRelease(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			_, wf, rd := benchReading(b, d)
			ctx := context.Background()
			items, err := wf.Worklist(ctx, rd, "", 1)
			if err != nil || len(items) != 1 {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := wf.Claim(ctx, rd, items[0].ID); err != nil {
					b.Fatal(err)
				}
				if _, err := wf.Release(ctx, rd, items[0].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadingEscalate: one scheduler run escalating 2,000 overdue
// studies (4 batches of 500, each one transaction).
func BenchmarkReadingEscalate(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			st, wf, _ := benchReading(b, d)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if err := st.ExecForTest(ctx, `UPDATE reading_studies SET due_at = uploaded_at WHERE status <> 'reported'`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if n, err := wf.EscalateDue(ctx); err != nil || n != benchOpen {
					b.Fatal(n, err)
				}
			}
		})
	}
}
