package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/store"
)

// What a request sees when PostgreSQL fails over under it (issue 15 §2,
// store/failover.go): the tests break real connections to the test server
// with pg_terminate_backend, or cut them at a TCP proxy standing in for
// HAProxy while no server leads.

// failoverDB is a migrated PostgreSQL store reached through a proxy the
// test can cut, an admin connection to the same database, and a probe
// table.
type failoverDB struct {
	url   string // through the proxy
	st    *store.Store
	admin *sql.DB
	proxy *cutProxy
}

func openFailover(t *testing.T, wait time.Duration) *failoverDB {
	t.Helper()
	raw := testdb.URL(t, store.Postgres)
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	if strings.HasPrefix(cfg.Host, "/") {
		network, addr = "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	p := startCutProxy(t, network, addr)
	u := url.URL{Scheme: "postgres", Host: p.addr(), Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	} else {
		u.User = url.User(cfg.User)
	}
	st, err := store.Open(context.Background(), u.String(), store.Options{AuditKey: testdb.AuditKey, ReconnectWait: wait})
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE TABLE failover_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &failoverDB{url: u.String(), st: st, admin: admin, proxy: p}
}

// rows returns the probe rows' ids.
func (f *failoverDB) rows(t *testing.T) []int {
	t.Helper()
	rs, err := f.admin.Query(`SELECT id FROM failover_probe ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var ids []int
	for rs.Next() {
		var id int
		rs.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// terminateOthers ends every backend of the test database but the admin
// connection's: what the death of the primary does to the pool.
func (f *failoverDB) terminateOthers(t *testing.T) {
	t.Helper()
	if _, err := f.admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.admin, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
}

// waitGone waits until the count query q answers 0.
func waitGone(t *testing.T, admin *sql.DB, q string, args ...any) {
	t.Helper()
	for i := 0; i < 200; i++ {
		var n int
		if err := admin.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("backends still there: %s", q)
}

// insertProbe inserts probe row id in tx.
func insertProbe(ctx context.Context, tx store.TxForTest, id int, note string) error {
	return tx.Exec(ctx, `INSERT INTO failover_probe (id, note) VALUES ($1, $2)`, id, note)
}

func wantUnavailable(t *testing.T, err error, key string) {
	t.Helper()
	var ce *care.Error
	if !errors.As(err, &ce) || ce.Code != care.EUNAVAILABLE || ce.Key != key {
		t.Fatalf("got %v, want %s (%s)", err, care.EUNAVAILABLE, key)
	}
}

func TestFailoverConnectionLostMidTransaction(t *testing.T) {
	ctx := context.Background()
	f := openFailover(t, 2*time.Second)
	calls := 0
	err := f.st.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		calls++
		if err := insertProbe(ctx, tx, 1, "half"); err != nil {
			return err
		}
		return tx.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
	})
	wantUnavailable(t, err, "error.db_unavailable")
	if calls != 1 {
		t.Errorf("a transaction not marked idempotent ran %d times, want 1", calls)
	}
	if got := f.rows(t); len(got) != 0 {
		t.Errorf("after the lost transaction the table holds %v, want nothing (no half-write)", got)
	}
	// The pool dropped the dead connection: the next transaction works.
	if err := f.st.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		return insertProbe(ctx, tx, 2, "next")
	}); err != nil {
		t.Fatalf("the transaction after the lost one: %v", err)
	}
	if got := f.rows(t); fmt.Sprint(got) != "[2]" {
		t.Errorf("rows %v, want [2]", got)
	}
}

func TestFailoverIdempotentWorkRunsAgain(t *testing.T) {
	ctx := context.Background()
	f := openFailover(t, 5*time.Second)
	calls := 0
	err := f.st.TransactForTest(ctx, true, func(tx store.TxForTest) error {
		calls++
		if err := insertProbe(ctx, tx, 1, "once"); err != nil {
			return err
		}
		switch calls {
		case 1: // the server dies under the first run
			return tx.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
		case 2: // a deadlock victim in the second
			return tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("idempotent transaction: %v", err)
	}
	if calls != 3 {
		t.Errorf("ran %d times, want 3 (lost connection, deadlock, success)", calls)
	}
	if got := f.rows(t); fmt.Sprint(got) != "[1]" {
		t.Errorf("rows %v, want [1] exactly once", got)
	}

	// A deadlock in work not marked idempotent is not run again: the user
	// is asked to try again.
	calls = 0
	err = f.st.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		calls++
		return tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`)
	})
	if calls != 1 || err == nil {
		t.Errorf("non-idempotent deadlock: %d runs, err %v; want 1 run and an error", calls, err)
	}
}

func TestFailoverCommitWithoutAnswerIsNotAcknowledged(t *testing.T) {
	ctx := context.Background()
	f := openFailover(t, 5*time.Second)
	calls := 0
	err := f.st.TransactForTest(ctx, true, func(tx store.TxForTest) error {
		calls++
		if err := insertProbe(ctx, tx, 1, "unknown"); err != nil {
			return err
		}
		var pid int
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`, nil, &pid); err != nil {
			return err
		}
		// The server goes away between the last statement and COMMIT.
		if _, err := f.admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
			return err
		}
		waitGone(t, f.admin, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid)
		return nil
	})
	wantUnavailable(t, err, "error.db_commit_unknown")
	if calls != 1 {
		t.Errorf("a COMMIT without answer was run %d times, want 1: its outcome is unknown, so it is never repeated", calls)
	}
	if got := f.rows(t); len(got) != 0 {
		t.Errorf("rows %v, want none", got)
	}
}

func TestFailoverPoolDropsDeadConnections(t *testing.T) {
	ctx := context.Background()
	f := openFailover(t, 5*time.Second)
	// Fill the pool with idle connections (and the read pool's prepared statements).
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var one int
			f.st.QueryForTest(ctx, `SELECT 1 FROM pg_sleep(0.05)`, &one)
		}()
	}
	wg.Wait()
	f.terminateOthers(t)
	var n int
	if err := f.st.QueryForTest(ctx, `SELECT count(*) FROM failover_probe`, &n); err != nil {
		t.Fatalf("a read after every connection died: %v", err)
	}
	if err := f.st.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		return insertProbe(ctx, tx, 1, "after")
	}); err != nil {
		t.Fatalf("a write after every connection died: %v", err)
	}
	if err := f.st.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestFailoverTransactionWaitsForTheNewLeader(t *testing.T) {
	ctx := context.Background()
	f := openFailover(t, 5*time.Second)
	// No server leads for 700 ms: the proxy drops every connection and
	// refuses new ones, as HAProxy does with no healthy backend.
	f.proxy.cut(true)
	start := time.Now()
	time.AfterFunc(700*time.Millisecond, func() { f.proxy.cut(false) })
	if err := f.st.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		return insertProbe(ctx, tx, 1, "waited")
	}); err != nil {
		t.Fatalf("a transaction begun during the failover: %v", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("committed after %v, before the database came back", d)
	}
	if got := f.rows(t); fmt.Sprint(got) != "[1]" {
		t.Errorf("rows %v, want [1]", got)
	}

	// A failover longer than ReconnectWait: a clear EUNAVAILABLE, no write.
	short, err := store.Open(ctx, f.url, store.Options{AuditKey: testdb.AuditKey, ReconnectWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	f.proxy.cut(true)
	defer f.proxy.cut(false)
	err = short.TransactForTest(ctx, false, func(tx store.TxForTest) error {
		return insertProbe(ctx, tx, 2, "never")
	})
	wantUnavailable(t, err, "error.db_unavailable")
	var n int
	wantUnavailable(t, store.WrapForTest(short.QueryForTest(ctx, `SELECT count(*) FROM failover_probe`, &n)), "error.db_unavailable")
	if got := f.rows(t); fmt.Sprint(got) != "[1]" {
		t.Errorf("rows %v, want [1]", got)
	}
}

// cutProxy forwards TCP connections to the database; cut(true) closes
// every connection and refuses new ones until cut(false).
type cutProxy struct {
	ln      net.Listener
	network string
	target  string
	mu      sync.Mutex
	down    bool
	conns   map[net.Conn]bool
}

func startCutProxy(t *testing.T, network, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, network: network, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	up, err := net.Dial(p.network, p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func TestStandbyReads(t *testing.T) {
	ctx := context.Background()
	// The "standby" is another database reached through a proxy, with
	// audit rows the primary lacks, so each read shows where it went.
	sb := openFailover(t, time.Second)
	if err := sb.st.AppendAudit(ctx, []audit.Event{{Action: "standby.marker", Outcome: "ok"}, {Action: "standby.marker", Outcome: "ok"}}); err != nil {
		t.Fatal(err)
	}
	primary, err := store.Open(ctx, testdb.URL(t, store.Postgres), store.Options{AuditKey: testdb.AuditKey, StandbyURL: sb.url})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	count := func(ctx context.Context) int64 {
		t.Helper()
		n, err := primary.AuditCount(ctx)
		if err != nil {
			t.Fatalf("audit count: %v", err)
		}
		return n
	}
	marked := care.WithStandbyReads(ctx)
	if got := count(ctx); got != 0 {
		t.Errorf("an unmarked read counted %d rows, want the primary's 0", got)
	}
	if got := count(marked); got != 2 {
		t.Errorf("a marked read counted %d rows, want the standby's 2", got)
	}
	// The standby goes away: marked reads go to the primary, without error.
	sb.proxy.cut(true)
	if got := count(marked); got != 0 {
		t.Errorf("with the standby unreachable a marked read counted %d rows, want the primary's 0", got)
	}
	sb.proxy.cut(false)
	if got := count(marked); got != 2 {
		t.Errorf("with the standby back a marked read counted %d rows, want 2", got)
	}
	// Writes never go to the standby.
	if err := primary.AppendAudit(marked, []audit.Event{{Action: "primary.marker", Outcome: "ok"}}); err != nil {
		t.Fatal(err)
	}
	if got := count(ctx); got != 1 {
		t.Errorf("the primary holds %d rows after a marked write, want 1", got)
	}

	if _, err := store.Open(ctx, testdb.URL(t, store.SQLite), store.Options{AuditKey: testdb.AuditKey, StandbyURL: sb.url}); err == nil {
		t.Error("SQLite with a standby for reads: opened, want an error")
	}
}
