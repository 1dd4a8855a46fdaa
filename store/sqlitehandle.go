package store

import (
	"reflect"

	"modernc.org/libc"
)

// The SQLite driver (modernc.org/sqlite) exposes neither its connection's
// sqlite3* nor the C API calls the store needs beyond database/sql: the
// query planner stability guarantee (sqliteplans.go) and incremental blob
// reads (imaging_file.go). Both go through the one handle found here.

// sqliteHandle is the sqlite3* of a modernc.org/sqlite connection and the
// libc thread state its calls run with.
type sqliteHandle struct {
	db  uintptr
	tls *libc.TLS
}

var tlsType = reflect.TypeOf((*libc.TLS)(nil))

// sqliteHandleOf finds the handle in modernc.org/sqlite's driver
// connection, which exposes neither it nor sqlite3_blob_*: its unexported
// fields db (uintptr) and tls (*libc.TLS), checked by name and type so
// that a driver release that changes them makes this report false (and
// TestImagingFileAppendNoCopy fail) rather than misread memory.
func sqliteHandleOf(dc any) (sqliteHandle, bool) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return sqliteHandle{}, false
	}
	e := v.Elem()
	if e.Kind() != reflect.Struct || e.Type().PkgPath() != "modernc.org/sqlite" || e.Type().Name() != "conn" {
		return sqliteHandle{}, false
	}
	db, tls := e.FieldByName("db"), e.FieldByName("tls")
	if !db.IsValid() || db.Kind() != reflect.Uintptr || !tls.IsValid() || tls.Type() != tlsType || tls.IsNil() || db.Uint() == 0 {
		return sqliteHandle{}, false
	}
	return sqliteHandle{db: uintptr(db.Uint()), tls: (*libc.TLS)(tls.UnsafePointer())}, true
}
