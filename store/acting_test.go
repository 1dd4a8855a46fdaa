package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"countycare/care"
)

// TestActingForOneQuery: a practitioner acting for another institution
// is looked up with one query per request (code review of issue 17:
// actingFor ran the practice-site list and then the institution's county,
// two queries on every request): the sites at that institution joined
// with its county. Scheduled today: the actor moves there; on another
// weekday, revoked, or expired: the actor stays home.
func TestActingForOneQuery(t *testing.T) {
	ctx := context.Background()
	s := sqliteTestStore(t)
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC) // a Monday
	s.now = func() time.Time { return now }
	for _, q := range []string{
		`INSERT INTO institutions (id, county_code, kind, code, name, created_at) VALUES (1, '330000', 'county_hospital', 'H1', 'Hospital', '2026-01-01T00:00:00Z')`,
		`INSERT INTO institutions (id, county_code, kind, code, name, created_at) VALUES (2, '330001', 'township_center', 'T1', 'Township', '2026-01-01T00:00:00Z')`,
		`INSERT INTO practitioners (id, institution_id, name, sex, title, created_at) VALUES (7, 1, 'Dr', 'F', 'physician', '2026-01-01T00:00:00Z')`,
		// Mondays at the township this year.
		`INSERT INTO practice_sites (county_code, practitioner_id, institution_id, weekdays, valid_from, valid_to, created_by, created_at)
			VALUES ('330001', 7, 2, 2, '2026-01-01', '2026-12-31', 1, '2026-01-01T00:00:00Z')`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	act := func() care.Actor {
		a := care.Actor{Role: care.RoleCountySpecialist, InstitutionID: 1, PractitionerID: 7, CountyCode: "330000"}
		if err := s.actingFor(ctx, &a, 2); err != nil {
			t.Fatal(err)
		}
		return a
	}
	s.stmts.m.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); s.stmts.m.Delete(k); return true })
	s.stmts.count.Store(0)
	a := act()
	if a.InstitutionID != 2 || a.HomeInstitutionID != 1 || a.CountyCode != "330001" {
		t.Fatalf("acting on Monday: %+v", a)
	}
	var texts []string
	s.stmts.m.Range(func(k, _ any) bool { texts = append(texts, k.(string)); return true })
	if len(texts) != 1 || !strings.Contains(texts[0], "JOIN institutions") {
		t.Fatalf("queries per lookup: %d %q", len(texts), texts)
	}
	now = now.AddDate(0, 0, 1) // Tuesday: not scheduled
	if a := act(); a.InstitutionID != 1 || a.CountyCode != "330000" {
		t.Fatalf("acting on Tuesday: %+v", a)
	}
	now = now.AddDate(0, 0, 6) // Monday again, but revoked
	if _, err := s.w.ExecContext(ctx, `UPDATE practice_sites SET revoked_at = '2026-12-10T00:00:00Z'`); err != nil {
		t.Fatal(err)
	}
	if a := act(); a.InstitutionID != 1 {
		t.Fatalf("acting on a revoked site: %+v", a)
	}
}
