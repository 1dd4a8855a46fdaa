package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"countycare/internal/testdb"
	"countycare/store"
)

// Notifications reach a listener; when its connection is cut (a
// failover, a restarted database) it connects again and calls resync,
// and later notifications arrive again.
func TestListenReconnectsAndResyncs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := testdb.URL(t, store.Postgres)
	st, err := store.Open(ctx, url, store.Options{AuditKey: testdb.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, resynced := make(chan string, 10), make(chan struct{}, 10)
	go st.Listen(ctx, "countycare_test", func(p string) { got <- p }, func() { resynced <- struct{}{} }, func(error) {})
	send := func(p string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if err := st.Notify(ctx, "countycare_test", p); err != nil {
				t.Fatal(err)
			}
			select {
			case g := <-got:
				if g != p {
					t.Fatalf("got %q, want %q", g, p)
				}
				return
			case <-time.After(100 * time.Millisecond): // not listening yet
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q never arrived", p)
			}
		}
	}
	send("one")
	select {
	case <-resynced:
		t.Fatal("resync on the first connection")
	default:
	}
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-resynced:
	case <-time.After(5 * time.Second):
		t.Fatal("no resync after the listener's connection was cut")
	}
	for len(got) > 0 {
		<-got
	}
	send("two")
}
