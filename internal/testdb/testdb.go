// Package testdb opens real databases for tests: SQLite in a temporary
// directory and PostgreSQL in a fresh database on the server named by
// COUNTYCARE_TEST_PG (default: the local server over its Unix socket).
//
// The PostgreSQL half never skips silently: if the server cannot be
// reached the test fails, unless COUNTYCARE_SKIP_PG=1 is set, in which
// case it is skipped with a message saying so (make test never sets it).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"countycare/store"
)

// AuditKey is the audit signing key used in tests.
var AuditKey = []byte("countycare-test-audit-key-32byte")

// DefaultPG is the PostgreSQL server used when COUNTYCARE_TEST_PG is unset.
const DefaultPG = "postgres:///postgres?host=/var/run/postgresql"

// Dialects lists the databases every storage test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// URL returns a URL for a new, empty database of dialect d, and removes
// the database when the test ends.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	}
	admin := os.Getenv("COUNTYCARE_TEST_PG")
	if admin == "" {
		admin = DefaultPG
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("COUNTYCARE_SKIP_PG") == "1" {
			t.Skipf("SKIPPED: PostgreSQL unreachable at %s and COUNTYCARE_SKIP_PG=1: %v", admin, err)
		}
		t.Fatalf("PostgreSQL unreachable at %s: %v (start it with scripts/postgres-up, or set COUNTYCARE_TEST_PG)", admin, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "cc_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		db.Close()
	})
	return withDatabase(admin, name)
}

// withDatabase replaces the database name in a postgres URL.
func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("testdb: bad URL %q", raw))
	}
	u.Path = "/" + name
	return strings.Replace(u.String(), "postgres:", "postgres:", 1)
}

// Open returns a migrated store of dialect d, closed when the test ends.
func Open(t testing.TB, d store.Dialect, now func() time.Time) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), URL(t, d), store.Options{AuditKey: AuditKey, Now: now})
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs fn as a subtest on every dialect.
func Each(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}
