package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/store"
)

// A replica that loses its database mid-work (every connection cut and
// new ones refused, as in a failover) answers "unavailable" — 503, try
// again — and writes nothing; once the database is back the same write
// succeeds, once.
func TestLostDatabaseIsUnavailableNotHalfWritten(t *testing.T) {
	ctx := context.Background()
	u := testdb.URL(t, store.Postgres)
	st, err := store.Open(ctx, u, store.Options{AuditKey: testdb.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin := os.Getenv("COUNTYCARE_TEST_PG")
	if admin == "" {
		admin = testdb.DefaultPG
	}
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	pu, _ := url.Parse(u)
	name := strings.TrimPrefix(pu.Path, "/")
	cut := func(allow bool) {
		t.Helper()
		if _, err := adb.ExecContext(ctx, `ALTER DATABASE "`+name+`" ALLOW_CONNECTIONS `+map[bool]string{true: "true", false: "false"}[allow]); err != nil {
			t.Fatal(err)
		}
		if !allow {
			if _, err := adb.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	cut(false)
	defer cut(true)
	err = st.PutBlob(ctx, "411723", strings.Repeat("ab", 32), "text/plain", []byte("x"))
	if !care.IsCode(err, care.EUNAVAILABLE) {
		t.Fatalf("a write with the database gone: %v, want unavailable", err)
	}
	if _, _, err := st.Blob(ctx, "411723", strings.Repeat("ab", 32)); !care.IsCode(err, care.EUNAVAILABLE) {
		t.Fatalf("a read with the database gone: %v, want unavailable", err)
	}
	cut(true)
	if err := st.PutBlob(ctx, "411723", strings.Repeat("ab", 32), "text/plain", []byte("x")); err != nil {
		t.Fatalf("the retry once the database is back: %v", err)
	}
	if typ, data, err := st.Blob(ctx, "411723", strings.Repeat("ab", 32)); err != nil || typ != "text/plain" || string(data) != "x" {
		t.Fatalf("after the retry: %q %q %v", typ, data, err)
	}
}
