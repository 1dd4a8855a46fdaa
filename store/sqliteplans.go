package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"runtime"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens a pool of connections to dsn, each with SQLite's query
// planner stability guarantee on (SQLITE_DBCONFIG_ENABLE_QPSG).
//
// Why: the driver is built with SQLITE_ENABLE_STAT4 and a county's
// database carries sqlite_stat4 samples (bulk loads and the hourly PRAGMA
// optimize run ANALYZE). Without the guarantee, SQLite lets the value
// bound to a parameter that meets an indexed column (county_code = ?, on
// almost every index) choose the plan, so each statement is compiled
// again at the first step after every binding: the store's cached
// prepared statements were prepared afresh on every execution, 9 % of the
// server's CPU in the county-year replay (docs/benchmarks.md, #15 §3).
// With it, a statement keeps the plan made from the samples' averages, as
// PostgreSQL's generic plans do; literals in the SQL still use the samples.
func openSQLite(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stablePlans{c}), nil
}

// stablePlans is a connector whose connections have the query planner
// stability guarantee on.
type stablePlans struct{ driver.Connector }

// Connect opens a connection and turns the guarantee on; a connection
// that cannot have it is closed and its error returned.
func (p stablePlans) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := p.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := sqliteQPSG(c, 1); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// errDriverShape says the SQLite driver's connection is no longer the
// struct sqliteQPSG reads (a driver upgrade): TestSQLiteStablePlans fails.
var errDriverShape = errors.New("store: the SQLite driver's connection has no db handle and TLS to configure")

// sqliteQPSG sets the query planner stability guarantee of an open
// connection of modernc.org/sqlite (on 1, off 0, -1 leaves it) and
// returns whether it is on. The driver has no option for it, so the
// connection's SQLite handle and thread state come from sqliteHandleOf
// (sqlitehandle.go); a connection of another shape is errDriverShape.
func sqliteQPSG(c driver.Conn, set int32) (bool, error) {
	h, ok := sqliteHandleOf(c)
	if !ok {
		return false, errDriverShape
	}
	db, tls := h.db, h.tls
	const vaSlot = 8 // libc.VaList's stride per argument, as the driver's dbConfigBool
	bp := libc.Xmalloc(tls, types.Size_t(2*vaSlot))
	if bp == 0 {
		return false, errors.New("store: out of memory configuring SQLite")
	}
	defer libc.Xfree(tls, bp)
	out := new(int32) // SQLite writes the setting here: Go's heap does not move
	rc := sqlite3.Xsqlite3_db_config(tls, db, sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, libc.VaList(bp, set, uintptr(unsafe.Pointer(out))))
	runtime.KeepAlive(out)
	if rc != sqlite3.SQLITE_OK {
		return false, errors.New("store: sqlite3_db_config(SQLITE_DBCONFIG_ENABLE_QPSG) failed")
	}
	return *out == 1, nil
}
