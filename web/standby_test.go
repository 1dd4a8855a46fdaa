package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/store"
	"countycare/web"
)

// TestStandbyRoutesReadFromTheStandby: with a standby for reads (serve
// --read-db), the routes of web/standby.go read from it and every other
// route, sign-in included, from the primary. The "standby" here is an
// empty database, so a read that went there shows as missing rows.
func TestStandbyRoutesReadFromTheStandby(t *testing.T) {
	ctx := context.Background()
	standby := testdb.URL(t, store.Postgres)
	sb, err := store.Open(ctx, standby, store.Options{AuditKey: testdb.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	sb.Close()
	e := newEnvWith(t, store.Postgres, envOptions{open: func(t testing.TB) *store.Store {
		st, err := store.Open(ctx, testdb.URL(t, store.Postgres), store.Options{AuditKey: testdb.AuditKey, Now: time.Now, StandbyURL: standby})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}})
	vd := e.as(care.RoleVillageDoctor) // signed in: sessions are read from the primary

	search := vd.get("/api/v1/residents?limit=5")
	if search.code != 200 || !strings.Contains(search.body, `"id"`) {
		t.Fatalf("resident search (primary): %d %.200s", search.code, search.body)
	}
	export := vd.get("/api/v1/residents/export")
	if export.code != 200 {
		t.Fatalf("export: %d %.200s", export.code, export.body)
	}
	if lines := strings.Count(strings.TrimSpace(export.body), "\n") + 1; lines != 1 {
		t.Errorf("export read %d lines, want only the header: it should have read the (empty) standby", lines)
	}
	// The export's audit row was written to the primary.
	var n int
	if err := e.st.QueryRowForTest(ctx, `SELECT count(*) FROM audit_events WHERE action = 'resident.export'`, &n); err != nil || n == 0 {
		t.Errorf("export audit rows on the primary: %d, %v", n, err)
	}
}

// TestStandbyRoutesAreGETRoutes keeps web/standby.go true: every route on
// it is registered, and reads.
func TestStandbyRoutesAreGETRoutes(t *testing.T) {
	e := newEnv(t, store.SQLite)
	registered := map[string]bool{}
	for _, r := range e.srv.Routes() {
		registered[r.Pattern] = true
	}
	for _, p := range web.StandbyRoutes() {
		if !registered[p] {
			t.Errorf("standby route %s is not registered", p)
		}
		if !strings.HasPrefix(p, "GET ") {
			t.Errorf("standby route %s is not a GET", p)
		}
	}
}
