// Package store is countycare's one SQL adapter. It implements the
// repository interfaces of the capability packages on two databases:
// embedded SQLite (the default, pure-Go driver modernc.org/sqlite) and
// PostgreSQL (pgx). Both run the same code; the few differences (placeholders,
// time columns, row locks, bulk loading) are in Dialect. The conformance
// suite in storetest runs against both in `make test`.
//
// The database is chosen by one URL: sqlite:///path/to/file.db or
// postgres://… (also postgresql://).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/reading"
)

// Dialect names the database engine.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is an open database.
type Store struct {
	dialect Dialect
	w       *sql.DB // writes: one connection on SQLite (one writer), the pool on PostgreSQL
	r       *sql.DB // reads: a pool of read-only connections on SQLite, the same pool on PostgreSQL
	// x: on SQLite, the read-only connections of the bulk export's scans
	// and file downloads (scan), with a small page cache: they read each
	// page once, so a larger cache per connection would only hold a
	// million-resident export's pages as memory (nil on PostgreSQL).
	x *sql.DB
	// writerCacheKiB is the SQLite writer's page cache as opened
	// (Options.CacheMiB), which LeanExportWrites restores.
	writerCacheKiB int
	url            string
	auditKey       []byte

	reconnectWait time.Duration // how long a transaction waits for a failover (Options.ReconnectWait)
	standby       *sql.DB       // reads of requests marked care.WithStandbyReads (Options.StandbyURL); nil: none
	now           func() time.Time
	skew          clockOffset // the database's clock ahead of now (SyncClock)

	stmts    stmtCache   // statements prepared on the read pool
	wstmts   stmtCache   // statements prepared on SQLite's writer (txPrepared)
	wanted   sync.Map    // query texts transactions ran unprepared, to prepare on the writer: text → struct{}
	group    groupCommit // SQLite's transactions share COMMITs (groupcommit.go)
	auditIns *sql.Stmt   // appendAudit's INSERT of a full chunk, prepared on the writer at Open; nil if not

	chronicCfg atomic.Pointer[chronic.Config] // targets of the per-unit counters; nil: chronic.DefaultConfig()

	readTargets atomic.Pointer[reading.Targets] // turnaround targets of new studies; nil: reading.DefaultTargets()

	crashAfter atomic.Pointer[crashPoint] // a test's injected failure (FailAfterForTest); nil in service

	imagingGroup batchCommit[[]reading.ImagingSave] // STOW-RS batches committed together (SaveImagingInstances)
}

// crashPoint is a failure a test injects at a named point of a transaction.
type crashPoint struct {
	name string
	err  error
}

// failpoint returns the error a test injected at point name, or nil.
func (s *Store) failpoint(name string) error {
	if c := s.crashAfter.Load(); c != nil && c.name == name {
		return c.err
	}
	return nil
}

// DefaultMmapMiB and DefaultCacheMiB are an SQLite connection's memory
// map and page cache unless Options say otherwise. With the four readers
// and the writer they bound the server's memory for the database at
// 5 × (128 + 16) MiB, whatever the size of the file: the map of 4 GiB
// per connection it had before let the 1 M county's whole-year replay
// reach a resident set of 2.5 GB (docs/benchmarks.md, issue 15 §3).
const (
	DefaultMmapMiB  = 128
	DefaultCacheMiB = 16
)

// sqliteMemory is the pragmas of the connection string that set a
// connection's memory map (reads through the map instead of a system call
// per page) and page cache, in MiB (0: the default; a negative map: none).
func sqliteMemory(mmapMiB, cacheMiB int) string {
	if mmapMiB == 0 {
		mmapMiB = DefaultMmapMiB
	}
	return fmt.Sprintf("&_pragma=mmap_size(%d)&_pragma=cache_size(%d)", max(mmapMiB, 0)<<20, -cacheMiBOr(cacheMiB)<<10)
}

// cacheMiBOr is cacheMiB, or DefaultCacheMiB when it is not positive.
func cacheMiBOr(cacheMiB int) int {
	if cacheMiB <= 0 {
		return DefaultCacheMiB
	}
	return cacheMiB
}

// Options configure Open.
type Options struct {
	// AuditKey signs the audit chain (HMAC-SHA256). Required for writing audit rows.
	AuditKey []byte
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ReadConns is the size of the SQLite read pool (default 4).
	ReadConns int
	// MmapMiB is how much of an SQLite database each connection reads
	// through a memory map (PRAGMA mmap_size): 0 is DefaultMmapMiB, a
	// negative value no map. The mapped pages count in the process's
	// resident set (RssFile) once per connection that touched them, so the
	// bound is MmapMiB × (ReadConns + 1).
	MmapMiB int
	// CacheMiB is each SQLite connection's page cache (PRAGMA cache_size),
	// the process's own memory: 0 is DefaultCacheMiB.
	CacheMiB int
	// StandbyURL, on PostgreSQL, names a standby (through HAProxy's
	// standby port) for the reads of requests marked with
	// care.WithStandbyReads; empty: every read goes to the primary.
	StandbyURL string
	// ReconnectWait is how long a PostgreSQL transaction waits for the
	// database to come back (a failover) before it fails with EUNAVAILABLE
	// (default 15 s; failover.go).
	ReconnectWait time.Duration
}

// Open connects to the database named by rawURL and applies pending
// migrations. SQLite files are created (with their directory) if missing.
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	s, err := openNoMigrate(ctx, rawURL, opt)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.RestorePendingIndexes(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.signEmptyAuditHead(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.prepareAuditInsert(ctx)
	return s, nil
}

// signEmptyAuditHead signs the head of a chain that has no rows yet (the
// migration writes it unsigned, having no key), so that verifying a new
// database passes and an empty head put back later does not.
func (s *Store) signEmptyAuditHead(ctx context.Context) error {
	if len(s.auditKey) == 0 {
		return nil
	}
	_, err := s.w.ExecContext(ctx, s.rebind(`UPDATE audit_head SET mac = ? WHERE id = 1 AND seq = 0 AND hash = '' AND mac = ''`), audit.HeadMAC(s.auditKey, 0, ""))
	return wrap("store.Open", err)
}

func openNoMigrate(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	s := &Store{url: rawURL, auditKey: opt.AuditKey, now: opt.Now, reconnectWait: opt.ReconnectWait}
	s.stmts.max, s.wstmts.max = maxCachedStmts, maxCachedStmts
	if s.now == nil {
		s.now = time.Now
	}
	if s.reconnectWait <= 0 {
		s.reconnectWait = defaultReconnectWait
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		s.dialect = SQLite
		path, err := sqlitePath(rawURL)
		if err != nil {
			return nil, err
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: unable to create %s: %w", dir, err)
			}
		}
		// busy_timeout is set first so the other pragmas wait for a lock
		// instead of failing (pocketbase does the same).
		common := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_time_format=sqlite"
		base := common + sqliteMemory(opt.MmapMiB, opt.CacheMiB)
		s.writerCacheKiB = cacheMiBOr(opt.CacheMiB) << 10
		// The writer keeps its temporary files in memory (temp_store):
		// each transaction of a commit group runs in a savepoint
		// (groupcommit.go), whose statement journal SQLite otherwise
		// spills to a new temporary file past 64 KiB — an open, writes
		// and a close for most write requests (5 % of a request's CPU in
		// the county-year replay, docs/benchmarks.md). Migrate and a
		// bulk load's index builds set it back to files while they run
		// (tempFiles): their sorts and journals can be as large as a table.
		w, err := openSQLite(base + "&_txlock=immediate&_pragma=temp_store(2)")
		if err != nil {
			return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
		}
		r, err := openSQLite(base + "&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, err
		}
		n := opt.ReadConns
		if n <= 0 {
			n = 4
		}
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		r.SetConnMaxLifetime(0)
		x, err := openSQLite(common + sqliteMemory(opt.MmapMiB, exportCacheMiB) + "&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			r.Close()
			return nil, err
		}
		x.SetMaxOpenConns(2) // an export's scan and a file's download
		x.SetMaxIdleConns(2)
		x.SetConnMaxLifetime(0)
		s.w, s.r, s.x = w, r, x
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		s.dialect = Postgres
		db, err := postgresPool(rawURL, 16)
		if err != nil {
			return nil, err
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: unable to reach postgres: %w", err)
		}
		s.w, s.r = db, db
		if opt.StandbyURL != "" {
			if s.standby, err = openStandby(ctx, opt.StandbyURL); err != nil {
				db.Close()
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("store: unknown database URL %q: want sqlite:///path/file.db or postgres://…", redact(rawURL))
	}
	if opt.StandbyURL != "" && s.dialect != Postgres {
		s.Close()
		return nil, fmt.Errorf("store: a standby for reads (%s) needs a PostgreSQL primary", redact(opt.StandbyURL))
	}
	return s, nil
}

// sqlitePath turns sqlite:///abs/path.db, sqlite://./rel.db or
// sqlite:rel.db into a file path.
func sqlitePath(raw string) (string, error) {
	rest := strings.TrimPrefix(raw, "sqlite:")
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return "", fmt.Errorf("store: sqlite URL %q has no path", raw)
	}
	return rest, nil
}

// redact hides the password of a database URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Redacted returns the database URL without its password.
func (s *Store) Redacted() string { return redact(s.url) }

// Dialect returns the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connection pools.
func (s *Store) Close() error {
	s.stmts.close()
	s.wstmts.close()
	if s.auditIns != nil {
		s.auditIns.Close()
	}
	err := s.w.Close()
	if s.r != s.w {
		if e := s.r.Close(); err == nil {
			err = e
		}
	}
	if s.x != nil {
		if e := s.x.Close(); err == nil {
			err = e
		}
	}
	if s.standby != nil {
		if e := s.standby.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Optimize refreshes the query planner's statistics where they are stale
// (SQLite's PRAGMA optimize; PostgreSQL's autovacuum does this itself).
// serve runs it hourly.
func (s *Store) Optimize(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	_, err := s.w.ExecContext(ctx, `PRAGMA optimize`)
	return wrap("store.Optimize", err)
}

// Ping checks the database answers (for /healthz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// db runs queries written with ? placeholders on either dialect.
type db struct {
	q querier
	s *Store
}

func (d db) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	w := d.q
	if tx := d.s.atomicTx(ctx); tx != nil {
		w = tx
	}
	if st := d.s.txPrepared(ctx, w, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.ExecContext(ctx, d.s.rebind(q), args...)
}
func (d db) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if tx := d.s.atomicTx(ctx); tx != nil {
		return tx.QueryContext(ctx, d.s.rebind(q), args...)
	}
	if d.q != d.s.r {
		return d.q.QueryContext(ctx, d.s.rebind(q), args...)
	}
	if sb := d.s.standbyFor(ctx); sb != nil {
		if rows, err := sb.QueryContext(ctx, d.s.rebind(q), args...); !standbyFailed(err) {
			return rows, err
		}
	}
	var rows *sql.Rows
	err := d.s.readAgain(ctx, func() (err error) {
		if st := d.s.prepared(ctx, q); st != nil {
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = d.q.QueryContext(ctx, d.s.rebind(q), args...)
		}
		return err
	})
	return rows, err
}
func (d db) row(ctx context.Context, q string, args ...any) *sql.Row {
	w := d.q
	if tx := d.s.atomicTx(ctx); tx != nil {
		w = tx
	}
	if w != d.s.r {
		if st := d.s.txPrepared(ctx, w, q); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return w.QueryRowContext(ctx, d.s.rebind(q), args...)
	}
	if sb := d.s.standbyFor(ctx); sb != nil {
		if row := sb.QueryRowContext(ctx, d.s.rebind(q), args...); !standbyFailed(row.Err()) {
			return row
		}
	}
	var row *sql.Row
	d.s.readAgain(ctx, func() error {
		if st := d.s.prepared(ctx, q); st != nil {
			row = st.QueryRowContext(ctx, args...)
		} else {
			row = d.q.QueryRowContext(ctx, d.s.rebind(q), args...)
		}
		return row.Err()
	})
	return row
}

// maxCachedStmts bounds each statement cache: queries built with a
// variable number of placeholders make new texts.
const maxCachedStmts = 512

// stmtCache holds statements prepared once on one pool, by query text:
// parsing and planning SQL is a large part of a small query's cost.
// Once max texts are cached, prepare returns nil and the query runs
// unprepared (database/sql keeps every prepared statement until Close, so
// preparing beyond the cache would leak).
//
// A slot is reserved before a statement is stored, so an entry, once
// visible to other goroutines, is never taken out and closed under them,
// and the counter always equals the entries (it goes down only for a
// reservation that stored nothing).
type stmtCache struct {
	m     sync.Map // query text → *sql.Stmt
	count atomic.Int64
	max   int64 // maxCachedStmts (tests lower it)
}

// get returns the statement cached for q, or nil.
func (c *stmtCache) get(q string) *sql.Stmt {
	if st, ok := c.m.Load(q); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// prepare returns the statement for q, preparing it on pool (text is q
// rebound for the dialect) if no other goroutine has; nil if the cache
// is full or preparing fails (the unprepared query then reports the error).
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, q, text string) *sql.Stmt {
	if st := c.get(q); st != nil {
		return st
	}
	if c.count.Load() >= c.max {
		return nil
	}
	if c.count.Add(1) > c.max {
		c.count.Add(-1)
		return nil
	}
	st, err := pool.PrepareContext(ctx, text)
	if err != nil {
		c.count.Add(-1)
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(q, st); loaded {
		c.count.Add(-1)
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
}

// prepared returns the read pool's prepared statement for q, preparing it
// once (stmtCache).
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	return s.stmts.prepare(ctx, s.r, q, s.rebind(q))
}

// txPrepared returns the writer's prepared statement for q bound to w, a
// transaction on SQLite's writer connection, or nil: then the text runs
// unprepared, and is queued to be prepared before the next transaction
// begins (preparing on the writer pool now would wait for its one
// connection, which w holds). Statements of an SQLite transaction were
// parsed again on every run: a tenth of the server's CPU in the
// county-year replay (docs/benchmarks.md). PostgreSQL is left alone: pgx
// caches each connection's statements itself.
//
// Only exec and row use it: their statement is done with before the next
// one runs (a row is scanned where it is read), whereas the rows of query
// stay open while the caller may run the same text again on the same
// connection, which would reset the one statement under them.
func (s *Store) txPrepared(ctx context.Context, w querier, q string) *sql.Stmt {
	tx, ok := w.(*sql.Tx)
	if !ok || s.dialect != SQLite {
		return nil
	}
	st := s.wstmts.get(q)
	if st == nil {
		if s.wstmts.count.Load() < s.wstmts.max {
			s.wanted.Store(q, struct{}{})
		}
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// prepareWanted prepares on the writer the statements transactions ran
// unprepared (txPrepared). It runs before a transaction begins, when this
// goroutine does not hold the writer connection.
func (s *Store) prepareWanted(ctx context.Context) {
	if s.dialect != SQLite {
		return
	}
	s.wanted.Range(func(k, _ any) bool {
		s.wanted.Delete(k)
		q := k.(string)
		s.wstmts.prepare(ctx, s.w, q, q)
		return true
	})
}

// insert runs an INSERT … RETURNING id and returns the id.
func (d db) insert(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := d.row(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, err
}

// read returns a handle on the read pool.
func (s *Store) read() db { return db{q: s.r, s: s} }

// exportCacheMiB is the page cache of each SQLite export connection (x):
// an export reads each row once, so a large cache only grows the
// resident set (docs/benchmarks.md, the first export's memory).
const exportCacheMiB = 1

// scan reads through the export connections on SQLite (x), the pool
// elsewhere.
func (s *Store) scan() db {
	if s.x != nil {
		return db{q: s.x, s: s}
	}
	return s.read()
}

// Transact runs fn in one write transaction: committed if fn returns nil,
// rolled back otherwise (and on panic). On SQLite it is BEGIN IMMEDIATE on
// the single writer connection, so transactions never deadlock.
//
// On PostgreSQL a transaction that cannot begin because the database is
// failing over is begun again for up to Options.ReconnectWait; one that
// loses its connection before or during COMMIT returns EUNAVAILABLE
// (failover.go) and is not run again, since fn may not be safe to repeat.
func (s *Store) Transact(ctx context.Context, fn func(tx db) error) error {
	return s.transact(ctx, false, fn)
}

// transactIdempotent is Transact for fn whose every effect is inside the
// transaction: after a rollback the database forced (lost connection,
// deadlock, serialization failure) it runs fn again on a new connection.
func (s *Store) transactIdempotent(ctx context.Context, fn func(tx db) error) error {
	return s.transact(ctx, true, fn)
}

// rebind turns ? placeholders into $1, $2 … for PostgreSQL. Queries in this
// package never contain a literal question mark.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// timeLayout is how SQLite stores instants: fixed width, so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts converts an instant for a query argument; the zero time becomes NULL.
func (s *Store) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.Format(timeLayout)
	}
	return t
}

// tsScan scans an instant from either dialect; NULL gives the zero time.
type tsScan struct{ t *time.Time }

func (x tsScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*x.t = time.Time{}
	case time.Time:
		*x.t = v.UTC()
	case string:
		t, err := time.Parse(timeLayout, v)
		if err != nil {
			t, err = time.Parse(time.RFC3339Nano, v)
		}
		if err != nil {
			return fmt.Errorf("store: bad time %q", v)
		}
		*x.t = t.UTC()
	case []byte:
		return x.Scan(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T as time", src)
	}
	return nil
}

func tsOf(t *time.Time) tsScan { return tsScan{t} }

// nullID turns 0 into NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// idScan scans a nullable reference; NULL gives 0.
type idScan struct{ p *int64 }

func (x idScan) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	*x.p = n.Int64
	return nil
}

func idOf(p *int64) idScan { return idScan{p} }

// mapErr turns driver errors into care codes: a lost database connection
// EUNAVAILABLE (failover.go), unique violations
// ECONFLICT, foreign-key violations EINVALID, and PostgreSQL's deadlock
// and serialization failures ECONFLICT asking to try again (the
// transaction was rolled back; nothing was written).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &care.Error{Code: care.ENOTFOUND, Key: "error.not_found", Err: err}
	}
	if connLost(err) {
		if unavailable(err) {
			return err
		}
		return errUnavailable("", err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return &care.Error{Code: care.ECONFLICT, Key: "error.conflict", Err: err}
		case "23503":
			return &care.Error{Code: care.EINVALID, Key: "error.reference", Err: err}
		case "40P01", "40001": // deadlock_detected, serialization_failure
			return &care.Error{Code: care.ECONFLICT, Key: "error.retry", Err: err}
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now (a failover)
			return dbUnavailable(err)
		}
		if strings.HasPrefix(pg.Code, "08") { // connection exception
			return dbUnavailable(err)
		}
	}
	// The connection was lost or could not be made (the database restarted,
	// failed over or is unreachable from this replica): the transaction
	// rolled back, so nothing of the request was written; 503, try again.
	// (A lost commit is the exception: Transact reports it as internal.)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return dbUnavailable(err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &care.Error{Code: care.ECONFLICT, Key: "error.conflict", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &care.Error{Code: care.EINVALID, Key: "error.reference", Err: err}
		}
	}
	return err
}

// dbUnavailable is the error of a lost or refused database connection.
func dbUnavailable(err error) error {
	return &care.Error{Code: care.EUNAVAILABLE, Key: "error.db_unavailable", Err: err}
}

// wrap maps err and marks it with op; unknown errors become EINTERNAL.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	err = mapErr(err)
	var ce *care.Error
	if errors.As(err, &ce) {
		if ce.Op == "" {
			ce.Op = op
		}
		return ce
	}
	return care.Internal(op, err)
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// int64Args converts ids to query arguments.
func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
